// Package harness runs the built petset binary for the process-level test
// tiers: test/e2e (with the real kubectl binaries) and test/bench (with
// client-go). It owns finding or building the binary (Main, Bin), starting
// `petset server` and `petset up` as child processes, each with its own data
// dir, free loopback port and — for a real node — its own bridge, pod CIDR
// and service CIDR (StartServer, StartUp, NewUp), the kubectl runner for the
// clients under test (Kubectls, Cluster.Kubectl), a client-go config from the
// kubeconfig petset writes (Cluster.RESTConfig), and bounded waits for
// conditions (WaitFor, Process.WaitReady).
//
// Cleanup: every process it starts is stopped by its PID (SIGTERM, a bounded
// wait, then SIGKILL) when the test ends; a `petset up` with a real node
// also fails the test if one of its pod processes survives (and kills it by
// PID) and has its bridge removed. When a start fails, the tail of the
// process's stderr is in the failure message.
//
// It is a normal package (not _test) so both tiers import it; it imports
// testing and is used only from tests. It does not own the tests.
package harness
