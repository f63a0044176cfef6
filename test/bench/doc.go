// Package bench measures petset as a user meets it: the built binary started
// as a process (`petset up`, with a real local node or simulated nodes),
// driven with client-go through the kubeconfig it writes.
//
// It owns the benchmarks behind `make bench` and the numbers in
// docs/bench/REPORT.md: start-up time, memory of the process tree, API
// latency under a paced load, the kubia StatefulSet of issue 4 on a real
// node, and the peer workloads of /work/shared/bench/peer.md on simulated
// nodes. Every benchmark reports with b.ReportMetric; none asserts a time
// limit. It does not own the product code it measures, and it never changes
// it.
//
// Concurrency: each benchmark starts its own petset processes (through the
// shared process harness, petset/test/harness) on a free
// loopback port, a fresh data dir, and (for a real node) a bridge and pod
// network of its own, and stops them by PID when it ends. Watches run in
// their own goroutines and hand events to the benchmark over channels.
package bench
