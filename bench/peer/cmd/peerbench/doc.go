// Command peerbench measures petset beside upstream Kubernetes on this
// machine, with the same client and the same workloads (issue 12): the peer
// is etcd, kube-apiserver, kube-controller-manager and kube-scheduler at the
// Kubernetes version petset serves, with kwok's simulated nodes and a local
// claim provisioner; petset is `petset up --simulate-nodes`. Both run on
// loopback, one after the other, each started fresh for every run.
//
// It owns the peer's start-up (certificates, tokens, flags, the nodes and
// StorageClass), the per-process CPU and memory sampling, and the report
// (docs/bench/REPORT.md's side-by-side section and its plot). The workloads
// themselves are petset/test/bench/workload's, shared with test/bench.
//
// `peerbench provision` is the peer's claim provisioner, a process of its
// own so its CPU and memory count with the peer's.
//
// Concurrency: one goroutine drives the workloads; each cluster's sampler
// runs in its own goroutine, stopped before the cluster is; every process
// started is stopped by its PID (SIGTERM, then SIGKILL after 15 s).
package main
