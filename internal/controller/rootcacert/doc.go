// Package rootcacert is kube-controller-manager's root CA certificate
// publisher: every active namespace has a ConfigMap kube-root-ca.crt whose
// ca.crt is the cluster CA, so pods can verify the API server (the
// ServiceAccount admission mounts it next to each pod's token). A changed
// or deleted ConfigMap is put back.
//
// It runs on the shared controller runner (internal/controller/runner),
// keyed by namespace.
package rootcacert
