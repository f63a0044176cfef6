// Package podport resolves a port reference — a number or the name of a
// container port — to a port number on a pod, by upstream's rules, for
// every part of petset that needs it: the endpoints and EndpointSlice
// controllers (a Service's targetPort, k8s.io/kubernetes/pkg/api/v1/pod
// FindPort), the agent's probes and lifecycle hooks (kubelet's
// probe.ResolveContainerPort) and the API server's pods/proxy.
//
// It does not validate: the API server has already refused names that are
// not IANA service names and numbers outside 1..65535. Pure functions; safe
// for concurrent use.
package podport
