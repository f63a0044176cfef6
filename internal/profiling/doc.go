// Package profiling serves Go's runtime profiles (net/http/pprof) on a
// loopback listener of their own, as kube components do under /debug/pprof
// with --profiling. It is off unless an address is given, and refuses any
// address that is not a loopback one: profiles expose the process's memory
// and are not authenticated.
package profiling
