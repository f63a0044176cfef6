// Package controlplane assembles petset's control plane in one process:
// etcd (embedded, or an external cluster), the API server, first-start
// bootstrap objects, and the controllers (under a leader-election lease so
// that several servers on one etcd run them once). It owns start-up and
// shutdown order:
//
//	start: credentials → etcd → API server → (ready) → bootstrap → controllers
//	stop:  controllers → API server → etcd
//
// Concurrency: Run blocks until its context ends; every goroutine it starts
// is waited for before Run returns. Ready is closed once the API answers
// and bootstrap objects exist.
package controlplane
