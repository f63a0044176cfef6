// Package cli owns petset's command line: one file per command (up,
// server, agent, kubectl, version) built with cobra. Commands parse flags,
// build the components they run and wait for them; they hold no logic of
// their own beyond wiring.
package cli
