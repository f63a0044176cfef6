package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Subresources returns the subresources of kind k beyond /status, given
// every kind's store.
func Subresources(k *Kind, stores map[schema.GroupResource]*Store) map[string]rest.Storage {
	gr := k.GroupResource()
	self := stores[gr]
	switch gr {
	case corev1.Resource("pods"):
		nodes := stores[corev1.Resource("nodes")]
		return map[string]rest.Storage{
			"binding":     &BindingREST{pods: self},
			"eviction":    &EvictionREST{pods: self},
			"log":         &connectREST{pods: self, nodes: nodes, kind: "log", agent: k.agent},
			"exec":        &connectREST{pods: self, nodes: nodes, kind: "exec", agent: k.agent},
			"attach":      &connectREST{pods: self, nodes: nodes, kind: "attach", agent: k.agent},
			"portforward": &connectREST{pods: self, nodes: nodes, kind: "portforward", agent: k.agent},
			"proxy":       &PodProxyREST{pods: self},
		}
	case corev1.Resource("services"):
		return map[string]rest.Storage{
			"proxy": &ServiceProxyREST{services: self, endpoints: stores[corev1.Resource("endpoints")]},
		}
	case corev1.Resource("serviceaccounts"):
		if k.tokens == nil {
			return nil
		}
		return map[string]rest.Storage{"token": &TokenREST{
			issuer: k.tokens, serviceAccounts: self, pods: stores[corev1.Resource("pods")], nodes: stores[corev1.Resource("nodes")],
		}}
	case corev1.Resource("namespaces"):
		return map[string]rest.Storage{"finalize": &FinalizeREST{namespaces: self}}
	case certificatesv1.Resource("certificatesigningrequests"):
		return map[string]rest.Storage{"approval": approvalREST(self)}
	case appsv1.Resource("statefulsets"):
		return map[string]rest.Storage{"scale": &ScaleREST{sets: self}}
	}
	return nil
}

// Main returns the storage that serves a kind's main resource: the store
// itself, or a wrapper where a kind's verbs differ (namespace deletion).
func Main(k *Kind, store *Store) rest.Storage {
	if k.GroupResource() == corev1.Resource("namespaces") {
		return &NamespaceREST{Store: store}
	}
	return store
}
