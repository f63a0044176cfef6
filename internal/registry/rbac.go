package registry

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
)

// RBACGuard decides whether the user of a request may write a role or a
// binding: kube's escalation prevention. Errors are API errors (Forbidden).
type RBACGuard interface {
	// CheckRole allows writing a Role or ClusterRole with these rules (and
	// an aggregation rule when aggregated is set).
	CheckRole(ctx context.Context, gr schema.GroupResource, namespace, name string, rules []rbacv1.PolicyRule, aggregated bool) error
	// CheckBinding allows writing a binding in namespace that refers to ref.
	CheckBinding(ctx context.Context, gr schema.GroupResource, namespace, name string, ref rbacv1.RoleRef) error
}

// guardCreate checks a create of a role or binding with g, kube's
// escalation check; nil when g is nil.
func guardCreate(g RBACGuard) genericregistry.BeginCreateFunc {
	if g == nil {
		return nil
	}
	return func(ctx context.Context, obj runtime.Object, _ *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
		if err := guardCheck(ctx, g, obj); err != nil {
			return nil, err
		}
		return func(context.Context, bool) {}, nil
	}
}

// guardUpdate checks an update of a role or binding with g; nil when g
// is nil.
func guardUpdate(g RBACGuard) genericregistry.BeginUpdateFunc {
	if g == nil {
		return nil
	}
	return func(ctx context.Context, obj, old runtime.Object, _ *metav1.UpdateOptions) (genericregistry.FinishFunc, error) {
		// Changes only the garbage collector needs (owner references,
		// finalizers) are allowed to whoever may update, as on kube.
		if onlyGCFieldsChange(obj, old) {
			return func(context.Context, bool) {}, nil
		}
		if err := guardCheck(ctx, g, obj); err != nil {
			return nil, err
		}
		return func(context.Context, bool) {}, nil
	}
}

func guardCheck(ctx context.Context, g RBACGuard, obj runtime.Object) error {
	rbacGR := func(r string) schema.GroupResource { return rbacv1.SchemeGroupVersion.WithResource(r).GroupResource() }
	switch o := obj.(type) {
	case *rbacv1.Role:
		return g.CheckRole(ctx, rbacGR("roles"), o.Namespace, o.Name, o.Rules, false)
	case *rbacv1.ClusterRole:
		return g.CheckRole(ctx, rbacGR("clusterroles"), "", o.Name, o.Rules, o.AggregationRule != nil)
	case *rbacv1.RoleBinding:
		return g.CheckBinding(ctx, rbacGR("rolebindings"), o.Namespace, o.Name, o.RoleRef)
	case *rbacv1.ClusterRoleBinding:
		return g.CheckBinding(ctx, rbacGR("clusterrolebindings"), "", o.Name, o.RoleRef)
	}
	return fmt.Errorf("not an RBAC object: %T", obj)
}

// onlyGCFieldsChange reports whether obj differs from old in nothing but
// ownerReferences, finalizers and server-managed metadata.
func onlyGCFieldsChange(obj, old runtime.Object) bool {
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	for _, o := range []runtime.Object{a, b} {
		m, err := meta.Accessor(o)
		if err != nil {
			return false
		}
		m.SetOwnerReferences(nil)
		m.SetFinalizers(nil)
		m.SetResourceVersion("")
		m.SetManagedFields(nil)
		m.SetGeneration(0)
	}
	return equality.Semantic.DeepEqual(a, b)
}
