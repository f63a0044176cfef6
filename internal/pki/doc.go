// Package pki owns petset's credentials on disk: the cluster CA, the API
// server's serving certificate, the API server's client certificate for
// node agents (apiserver-kubelet-client), the admin token and the join
// token (a bootstrap token, "<id>.<secret>"), the admin kubeconfig, a CA
// type that signs node certificates, and the embedded etcd's own CA with its serving, peer and
// API-server client certificates (kubeadm's layout). Everything is
// generated once, at first start, in the data directory (private files mode
// 0600) and reused afterwards.
//
// It starts no goroutines; functions are safe to call from one goroutine at
// a time per data directory.
package pki
