package registry

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"petset/internal/registry/validation"
)

// EphemeralContainersREST serves pods/ephemeralcontainers, the one way to
// add a container to a running pod (`kubectl debug`): a write of the whole
// pod of which only spec.ephemeralContainers is kept.
type EphemeralContainersREST struct {
	store *genericregistry.Store
}

func newEphemeralContainersREST(pods *Store) *EphemeralContainersREST {
	s := *pods.Store
	st := ephemeralContainersStrategy{strategy: s.UpdateStrategy.(strategy)}
	s.UpdateStrategy = st
	// The subresource's managed fields are spec.ephemeralContainers only
	// (GetResetFieldsFilter below), not the main resource's reset set.
	s.ResetFieldsStrategy = nil
	return &EphemeralContainersREST{store: &s}
}

var (
	_ rest.Getter                    = &EphemeralContainersREST{}
	_ rest.Updater                   = &EphemeralContainersREST{}
	_ rest.ResetFieldsFilterStrategy = &EphemeralContainersREST{}
)

func (r *EphemeralContainersREST) New() runtime.Object { return &corev1.Pod{} }
func (r *EphemeralContainersREST) Destroy()            {}

func (r *EphemeralContainersREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

func (r *EphemeralContainersREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFieldsFilter: server-side apply through this subresource owns
// spec.ephemeralContainers and nothing else.
func (r *EphemeralContainersREST) GetResetFieldsFilter() map[fieldpath.APIVersion]fieldpath.Filter {
	return map[fieldpath.APIVersion]fieldpath.Filter{
		fieldpath.APIVersion(corev1.SchemeGroupVersion.String()): fieldpath.NewIncludeMatcherFilter(
			fieldpath.MakePrefixMatcherOrDie("spec", "ephemeralContainers"),
		),
	}
}

// ephemeralContainersStrategy keeps the stored pod but for its ephemeral
// containers, and validates the change as kube does.
type ephemeralContainersStrategy struct {
	strategy
}

func (s ephemeralContainersStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	pod, stored := obj.(*corev1.Pod), old.(*corev1.Pod)
	added := pod.Spec.EphemeralContainers
	pod.Spec = *stored.Spec.DeepCopy()
	pod.Spec.EphemeralContainers = added
	pod.Status = *stored.Status.DeepCopy()
	metav1.ResetObjectMetaForStatus(pod, stored)
	if !equality.Semantic.DeepEqual(added, stored.Spec.EphemeralContainers) {
		pod.Generation = stored.Generation + 1
	}
}

func (s ephemeralContainersStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodEphemeralContainersUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

func (s ephemeralContainersStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}
