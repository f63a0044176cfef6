// Package workload is what the benchmarks do to a cluster and how they time
// it, for any cluster that speaks the Kubernetes API: petset up in
// test/bench, and petset beside upstream Kubernetes in bench/peer's runner.
//
// It owns the watch trackers (when did a condition first hold, by the arrival
// of the event that made it true), the objects of the workloads (the kubia
// manifests of examples/kubia), the workloads of /work/shared/bench/peer.md
// (W1–W5) as functions, and the /proc readings of CPU time and memory. It
// does not start or stop clusters and never asserts a time.
//
// Concurrency: each tracker runs one watch goroutine that ends with the
// context it was made with; waits are bounded. The workload functions are
// called from one goroutine per cluster.
package workload
