// Package certificates approves and signs the CertificateSigningRequests of
// node agents, as kube-controller-manager's csrapproving and csrsigning
// controllers do for kubelets:
//
//   - kubernetes.io/kube-apiserver-client-kubelet: a node's client
//     certificate (CN system:node:<name>, O system:nodes, client auth, no
//     SANs) is approved when a bootstrapper (group system:bootstrappers)
//     asks for it, or the same node renews it;
//   - kubernetes.io/kubelet-serving: a node's serving certificate (same
//     subject, server auth) is approved only when that node asks and its
//     DNS names and IPs are the node's own name and addresses (from its
//     Node object); kube leaves these to an external approver.
//
// Approved requests of those two signers and of
// kubernetes.io/kube-apiserver-client are then signed with petset's CA.
// Other signers are left alone; requests that do not qualify stay pending.
//
// Concurrency: one informer on CSRs (and one on nodes) feeds the shared
// controller runner (internal/controller/runner), keyed by request name;
// each worker handles one request at a time.
package certificates
