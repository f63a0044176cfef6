// Package defaults applies Kubernetes' v1 defaulting rules to the kinds petset
// serves: core/v1 (Namespace, Node, Pod, Service, Endpoints, PersistentVolume,
// PersistentVolumeClaim, ConfigMap, Secret, ServiceAccount, Event),
// events.k8s.io/v1 Event, discovery.k8s.io/v1 EndpointSlice,
// storage.k8s.io/v1 StorageClass, coordination.k8s.io/v1 Lease and apps/v1
// StatefulSet and ControllerRevision.
//
// It owns the field-by-field defaults that kube's generated SetObjectDefaults_*
// functions apply (the hand-written SetDefaults_* rules plus the nested walks
// the generator adds), one exported function per kind; each kind's
// declaration in package registry names its function, and registry.AddDefaults
// installs them on the scheme so the API server's codec applies them on
// decode and after patches. The feature gates petset runs with are fixed:
// MaxUnavailableStatefulSet, StatefulSetAutoDeletePVC, ImageVolume and
// PodLevelResources on.
//
// It does not own server-side allocation that kube performs in the registry
// rather than in defaulting (Service clusterIP, ipFamilies and ipFamilyPolicy,
// nodePorts), nor validation (package validation).
//
// Concurrency: every function is a pure mutation of the object it is given and
// holds no state; callers must not default the same object concurrently.
package defaults
