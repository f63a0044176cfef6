// Package clusterservice owns the Services every cluster has and their
// endpoints:
//
//   - the kubernetes Service in default: ClusterIP the first address of
//     the service CIDR, port 443 "https", targetPort the API servers'
//     advertised port, and its Endpoints and EndpointSlice (both named
//     kubernetes) listing the advertised address of every live API server.
//     As kube-apiserver's "lease" endpoint reconciler, each API server
//     keeps a key with a TTL (an etcd lease, 15 s, renewed) under
//     /petset/masterleases/<ip>, and every server rewrites the endpoints
//     from the keys that live (every 10 s, and when it stops, after
//     deleting its own key). Kubernetes is what runs this (Reconciler.Run);
//     a server without an advertised address keeps the Service only.
//   - the kube-dns Service in kube-system (k8s-app=kube-dns, 53/UDP dns and
//     53/TCP dns-tcp, ClusterIP the tenth address of the range as kubeadm
//     gives it). petset's cluster DNS runs on every node (as NodeLocal
//     DNSCache does), so the Service has internalTrafficPolicy Local and
//     its endpoints, written by DNSEndpoints from the Nodes that announce
//     one (annotation petset.io/cluster-dns), are each node's DNS address
//     with that node's name; a node's service proxy sends the ClusterIP
//     only to its own.
//
// It does not route Services (the node's service proxy, internal/proxy,
// does) nor answer DNS (internal/dns).
//
// Concurrency: Reconciler.Run owns one goroutine loop; DNSEndpoints runs
// on the shared controller runner (internal/controller/runner), driven by a
// Node informer, with one key (the kube-dns Service) and one worker.
package clusterservice
