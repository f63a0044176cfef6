// Package integration tests petset's control plane in-process: a real
// embedded etcd, the real API server and controllers, driven by client-go
// only, as any Kubernetes client would. Tests assert stored state.
package integration
