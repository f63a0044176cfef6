// Package validation checks objects of the kinds petset serves the way the
// Kubernetes 1.37 API server does, returning field.ErrorLists with upstream's
// field paths and messages, so that a rejected write reads exactly as it would
// against Kubernetes (`StatefulSet.apps "web" is invalid: spec.replicas: ...`).
//
// For each kind it provides Validate<Kind> (create), Validate<Kind>Update and,
// where the kind has a status subresource, Validate<Kind>StatusUpdate. Objects
// are expected to be defaulted (package defaults) before validation, as the
// API server does; several checks (for example StatefulSet podManagementPolicy
// or a pod's restartPolicy being Required) only hold after defaulting.
//
// It owns field-level validation only. It does not own defaulting, server-set
// metadata (uid, generation, resourceVersion), resourceVersion preconditions,
// admission, or copying fields the server allocates (Service clusterIP) from
// the stored object before an update is validated; the registry strategies do
// those. Pod validation covers the checks that keep stored data sane and that
// users hit, not every rule of kube's core validation: security contexts
// beyond ids and privilege escalation, seccomp/AppArmor, topology spread,
// resource claims, sysctls, volume devices, the contents of legacy cloud
// volume sources and pod-specific annotations are not checked.
//
// The package imports only k8s.io/api and k8s.io/apimachinery. Every function
// is pure: it reads its arguments, never mutates them, and holds no state, so
// it is safe for concurrent use.
package validation
