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

// ScaleREST serves statefulsets/scale as an autoscaling/v1 Scale.
type ScaleREST struct {
	sets *Store
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
	obj, err := r.sets.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return scaleOf(obj.(*appsv1.StatefulSet))
}

// Update maps the new Scale's replicas onto the set, honouring a
// resourceVersion in the Scale as a precondition.
func (r *ScaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	obj, _, err := r.sets.Update(ctx, name, &scaleUpdate{name: name, req: objInfo}, rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, options)
	if err != nil {
		return nil, false, err
	}
	scale, err := scaleOf(obj.(*appsv1.StatefulSet))
	return scale, false, err
}

func scaleOf(sts *appsv1.StatefulSet) (*autoscalingv1.Scale, error) {
	sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid label selector: %v", err))
	}
	replicas := int32(1)
	if sts.Spec.Replicas != nil {
		replicas = *sts.Spec.Replicas
	}
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: sts.Name, Namespace: sts.Namespace, UID: sts.UID,
			ResourceVersion: sts.ResourceVersion, CreationTimestamp: sts.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: sts.Status.Replicas, Selector: sel.String()},
	}, nil
}

// scaleUpdate turns an update of the Scale into an update of the set.
type scaleUpdate struct {
	name string
	req  rest.UpdatedObjectInfo
}

func (u *scaleUpdate) Preconditions() *metav1.Preconditions { return u.req.Preconditions() }

func (u *scaleUpdate) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	sts := oldObj.(*appsv1.StatefulSet).DeepCopy()
	old, err := scaleOf(sts)
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
	replicas := scale.Spec.Replicas
	sts.Spec.Replicas = &replicas
	// A resourceVersion in the Scale is a precondition on the set.
	sts.ResourceVersion = scale.ResourceVersion
	return sts, nil
}
