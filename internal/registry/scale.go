package registry

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
)

// ScaleREST serves the scale subresource of StatefulSets, Deployments and
// ReplicaSets as an autoscaling/v1 Scale.
type ScaleREST struct {
	store *Store
}

var (
	_ rest.Getter                   = &ScaleREST{}
	_ rest.Updater                  = &ScaleREST{}
	_ rest.GroupVersionKindProvider = &ScaleREST{}
)

func (r *ScaleREST) New() runtime.Object { return &autoscalingv1.Scale{} }
func (r *ScaleREST) Destroy()            {}

func (r *ScaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
}

func (r *ScaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return scaleOf(obj)
}

// Update maps the new Scale's replicas onto the object, honouring a
// resourceVersion in the Scale as a precondition.
func (r *ScaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	obj, _, err := r.store.Update(ctx, name, &scaleUpdate{name: name, req: objInfo}, rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, options)
	if err != nil {
		return nil, false, err
	}
	scale, err := scaleOf(obj)
	return scale, false, err
}

// scaled are the fields of a scalable object the Scale reads and writes.
type scaled struct {
	meta     *metav1.ObjectMeta
	replicas **int32
	selector *metav1.LabelSelector
	current  int32
}

func scaledFields(obj runtime.Object) (scaled, error) {
	switch o := obj.(type) {
	case *appsv1.StatefulSet:
		return scaled{&o.ObjectMeta, &o.Spec.Replicas, o.Spec.Selector, o.Status.Replicas}, nil
	case *appsv1.Deployment:
		return scaled{&o.ObjectMeta, &o.Spec.Replicas, o.Spec.Selector, o.Status.Replicas}, nil
	case *appsv1.ReplicaSet:
		return scaled{&o.ObjectMeta, &o.Spec.Replicas, o.Spec.Selector, o.Status.Replicas}, nil
	}
	return scaled{}, apierrors.NewInternalError(fmt.Errorf("no scale subresource for %T", obj))
}

func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	f, err := scaledFields(obj)
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(f.selector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid label selector: %v", err))
	}
	replicas := int32(1)
	if *f.replicas != nil {
		replicas = **f.replicas
	}
	m := f.meta
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: f.current, Selector: sel.String()},
	}, nil
}

// scaleUpdate turns an update of the Scale into an update of the object.
type scaleUpdate struct {
	name string
	req  rest.UpdatedObjectInfo
}

func (u *scaleUpdate) Preconditions() *metav1.Preconditions { return u.req.Preconditions() }

func (u *scaleUpdate) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	target := oldObj.DeepCopyObject()
	old, err := scaleOf(target)
	if err != nil {
		return nil, err
	}
	obj, err := u.req.UpdatedObject(ctx, old)
	if err != nil {
		return nil, err
	}
	scale, ok := obj.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected input object type to be Scale, but %T", obj))
	}
	gk := autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind()
	if scale.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(gk, u.name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0"),
		})
	}
	if scale.Name != "" && scale.Name != u.name {
		return nil, apierrors.NewBadRequest("the name of the object (" + scale.Name + ") does not match the name on the URL (" + u.name + ")")
	}
	f, err := scaledFields(target)
	if err != nil {
		return nil, err
	}
	replicas := scale.Spec.Replicas
	*f.replicas = &replicas
	// A resourceVersion in the Scale is a precondition on the object.
	f.meta.ResourceVersion = scale.ResourceVersion
	return target, nil
}
