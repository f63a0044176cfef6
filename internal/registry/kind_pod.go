package registry

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/kubectl/pkg/util/qos"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// podKind is core/v1 Pod. Pods are created Pending with their QoS class
// and the default not-ready/unreachable tolerations (Deps.Tolerations),
// deleted gracefully, and reached through binding, eviction, the connect
// subresources (through agents) and proxy.
func podKind(agents *AgentAccess, tol Tolerations) *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Pod"), Resource: "pods", Singular: "pod",
		Namespaced: true, ShortNames: []string{"po"}, Categories: []string{"all"},
		HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			pod := obj.(*corev1.Pod)
			// status.qosClass as kube-apiserver sets it (pod-level resources
			// first, then every init and app container's cpu and memory).
			pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qos.ComputePodQOS(pod)}
			addDefaultTolerations(pod, tol)
			clampGracePeriod(pod)
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			clampGracePeriod(obj.(*corev1.Pod))
		},
		GracefulDelete: podGracefulDelete,
		Fields:         podFields,

		Validate:             validateCreate(validation.ValidatePod),
		ValidateUpdate:       validateUpdate(validation.ValidatePodUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidatePodStatusUpdate),
		Default:              defaulter(defaults.Pod),
		Printer:              printers.Pod,
		Subresources: func(self *Store, stores map[schema.GroupResource]*Store) map[string]rest.Storage {
			nodes := stores[corev1.Resource("nodes")]
			return map[string]rest.Storage{
				"binding":             &BindingREST{pods: self},
				"ephemeralcontainers": newEphemeralContainersREST(self),
				"eviction":            &EvictionREST{pods: self, pdbs: stores[policyv1.Resource("poddisruptionbudgets")]},
				"log":                 &connectREST{pods: self, nodes: nodes, kind: "log", agent: agents},
				"exec":                &connectREST{pods: self, nodes: nodes, kind: "exec", agent: agents},
				"attach":              &connectREST{pods: self, nodes: nodes, kind: "attach", agent: agents},
				"portforward":         &connectREST{pods: self, nodes: nodes, kind: "portforward", agent: agents},
				"proxy":               &PodProxyREST{pods: self},
			}
		},
	}
}
