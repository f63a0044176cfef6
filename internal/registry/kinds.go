package registry

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

// eventTTLSeconds is how long events are kept (kube-apiserver's --event-ttl default).
const eventTTLSeconds = 3600

// Deps are what some kinds need beyond their own storage.
type Deps struct {
	ServiceIPs Allocator
	NodePorts  Allocator
	// Agents is how the API server reaches node agents for logs, exec,
	// attach and port-forward.
	Agents AgentAccess
	// RBAC guards writes of roles and bindings (escalation prevention); nil
	// allows every write the authorizer let through.
	RBAC RBACGuard
	// Tokens signs the tokens serviceaccounts/token issues; nil serves no
	// token subresource.
	Tokens TokenIssuer
}

// Kinds returns every kind petset serves, in discovery order within each group.
func Kinds(d Deps) []*Kind {
	return withValidation(append([]*Kind{
		namespaceKind(), nodeKind(), podKind(&d.Agents), serviceKind(d.ServiceIPs, d.NodePorts),
		{
			GVK: corev1.SchemeGroupVersion.WithKind("Endpoints"), Resource: "endpoints", Singular: "endpoints",
			Namespaced: true, ShortNames: []string{"ep"},
			New: func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} },
		},
		persistentVolumeKind(), persistentVolumeClaimKind(),
		{
			GVK: corev1.SchemeGroupVersion.WithKind("ConfigMap"), Resource: "configmaps", Singular: "configmap",
			Namespaced: true, ShortNames: []string{"cm"},
			New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
		},
		{
			GVK: corev1.SchemeGroupVersion.WithKind("Secret"), Resource: "secrets", Singular: "secret",
			Namespaced: true,
			New:        func() runtime.Object { return &corev1.Secret{} }, NewList: func() runtime.Object { return &corev1.SecretList{} },
			PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
				s := obj.(*corev1.Secret)
				if s.Type == "" {
					s.Type = corev1.SecretTypeOpaque
				}
				mergeStringData(s)
			},
			PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) { mergeStringData(obj.(*corev1.Secret)) },
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
			},
		},
		{
			GVK: corev1.SchemeGroupVersion.WithKind("ServiceAccount"), Resource: "serviceaccounts", Singular: "serviceaccount",
			Namespaced: true, ShortNames: []string{"sa"},
			New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
			tokens: d.Tokens,
		},
		eventKind(),
		{
			GVK: appsv1.SchemeGroupVersion.WithKind("StatefulSet"), Resource: "statefulsets", Singular: "statefulset",
			Namespaced: true, ShortNames: []string{"sts"}, Categories: []string{"all"}, HasStatus: true,
			New: func() runtime.Object { return &appsv1.StatefulSet{} }, NewList: func() runtime.Object { return &appsv1.StatefulSetList{} },
		},
		{
			GVK: appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), Resource: "controllerrevisions", Singular: "controllerrevision",
			Namespaced: true,
			New:        func() runtime.Object { return &appsv1.ControllerRevision{} }, NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} },
		},
		{
			GVK: storagev1.SchemeGroupVersion.WithKind("StorageClass"), Resource: "storageclasses", Singular: "storageclass",
			ShortNames: []string{"sc"}, ReturnDeletedObject: true,
			New: func() runtime.Object { return &storagev1.StorageClass{} }, NewList: func() runtime.Object { return &storagev1.StorageClassList{} },
		},
		{
			GVK: coordinationv1.SchemeGroupVersion.WithKind("Lease"), Resource: "leases", Singular: "lease",
			Namespaced: true, NoUnconditionalUpdate: true,
			New: func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },
		},
		{
			GVK: discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), Resource: "endpointslices", Singular: "endpointslice",
			Namespaced: true,
			New:        func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		},
		csrKind(),
		{
			GVK: eventsv1.SchemeGroupVersion.WithKind("Event"), Resource: "events", Singular: "event",
			Namespaced: true, ShortNames: []string{"ev"}, TTLSeconds: eventTTLSeconds,
			New: func() runtime.Object { return &eventsv1.Event{} }, NewList: func() runtime.Object { return &eventsv1.EventList{} },
			Fields: func(obj runtime.Object) fields.Set {
				e := obj.(*eventsv1.Event)
				return fields.Set{
					"regarding.kind": e.Regarding.Kind, "regarding.namespace": e.Regarding.Namespace,
					"regarding.name": e.Regarding.Name, "regarding.uid": string(e.Regarding.UID),
					"reason": e.Reason, "reportingController": e.ReportingController, "type": e.Type,
				}
			},
		},
	}, rbacKinds(d.RBAC)...))
}

// mergeStringData writes a Secret's stringData into its data, each key
// overwriting data's, and drops stringData: it is write-only and never
// stored, as kube's conversion of v1.Secret to its internal type does. The
// merged data is then validated, size limit included.
func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

func namespaceKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Namespace"), Resource: "namespaces", Singular: "namespace",
		ShortNames: []string{"ns"}, HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			ns := obj.(*corev1.Namespace)
			ns.Status.Phase = corev1.NamespaceActive
			ns.Spec.Finalizers = []corev1.FinalizerName{finalizerKubernetes}
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[corev1.LabelMetadataName] = ns.Name
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			ns := obj.(*corev1.Namespace)
			// spec.finalizers changes only through namespaces/finalize.
			ns.Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[corev1.LabelMetadataName] = ns.Name
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
		},
	}
}

func nodeKind() *Kind {
	k := &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Node"), Resource: "nodes", Singular: "node",
		ShortNames: []string{"no"}, HasStatus: true, KeepStatusOnCreate: true,
		New: func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
		},
	}
	return k
}

func persistentVolumeKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("PersistentVolume"), Resource: "persistentvolumes", Singular: "persistentvolume",
		ShortNames: []string{"pv"}, HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.PersistentVolume{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			pv := obj.(*corev1.PersistentVolume)
			pv.Status.Phase = corev1.VolumePending
			now := metav1.Now()
			pv.Status.LastPhaseTransitionTime = &now
			pv.Generation = 0
		},
		PrepareForStatusUpdate: func(ctx context.Context, obj, old runtime.Object) {
			pv, o := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
			if pv.Status.Phase != o.Status.Phase {
				now := metav1.Now()
				pv.Status.LastPhaseTransitionTime = &now
			}
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"name": obj.(*corev1.PersistentVolume).Name}
		},
		WarningsOnCreate: func(obj runtime.Object) []string { return persistentVolumeWarnings(obj.(*corev1.PersistentVolume)) },
		WarningsOnUpdate: func(obj, _ runtime.Object) []string {
			return persistentVolumeWarnings(obj.(*corev1.PersistentVolume))
		},
	}
}

// persistentVolumeWarnings is upstream's warning for the deprecated Recycle
// reclaim policy (pkg/api/persistentvolume GetWarningsForPersistentVolume).
func persistentVolumeWarnings(pv *corev1.PersistentVolume) []string {
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		return []string{"spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning."}
	}
	return nil
}

func persistentVolumeClaimKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim",
		Namespaced: true, ShortNames: []string{"pvc"}, HasStatus: true, ReturnDeletedObject: true,
		New: func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			pvc.Status.Phase = corev1.ClaimPending
			pvc.Generation = 0
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"name": obj.(*corev1.PersistentVolumeClaim).Name}
		},
	}
}

func eventKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Event"), Resource: "events", Singular: "event",
		Namespaced: true, ShortNames: []string{"ev"}, TTLSeconds: eventTTLSeconds,
		New: func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
		Fields: func(obj runtime.Object) fields.Set {
			e := obj.(*corev1.Event)
			source := e.Source.Component
			if source == "" {
				source = e.ReportingController
			}
			return fields.Set{
				"involvedObject.kind": e.InvolvedObject.Kind, "involvedObject.namespace": e.InvolvedObject.Namespace,
				"involvedObject.name": e.InvolvedObject.Name, "involvedObject.uid": string(e.InvolvedObject.UID),
				"involvedObject.apiVersion": e.InvolvedObject.APIVersion, "involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
				"involvedObject.fieldPath": e.InvolvedObject.FieldPath, "reason": e.Reason, "reportingComponent": e.ReportingController,
				"source": source, "type": e.Type,
			}
		},
	}
}
