// Package relay forwards TCP connections from one address to another,
// byte for byte. A node runs one on its pod bridge's gateway address, port
// 443, to the API server, so that pods (whose network namespace cannot
// reach the API server's loopback address) find it at
// KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, as kube-proxy makes the
// kubernetes Service reachable on Kubernetes. TLS passes through end to
// end: the relay sees no plaintext and adds no credential; the API
// server's certificate names the gateway address. With several API servers
// (docs/ha.md) a connection goes to the one that accepted the last, or the
// next that accepts.
//
// Concurrency: Run accepts until its context ends, then closes the
// listener and every open connection and waits for their goroutines.
// Ready is closed once the listener is bound.
package relay
