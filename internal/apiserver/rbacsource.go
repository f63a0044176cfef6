package apiserver

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/request"

	"petset/internal/registry"
)

// storeSource reads roles and bindings from the server's own storage, as
// kube's escalation check does: a role written by one request is seen by
// the next, without waiting for an informer. stores is set once the
// stores exist, before the server serves.
type storeSource struct {
	stores map[schema.GroupResource]*registry.Store
}

func (s *storeSource) store(resource string) (*registry.Store, error) {
	st, ok := s.stores[schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}]
	if !ok {
		return nil, fmt.Errorf("no storage for %s", resource)
	}
	return st, nil
}

func (s *storeSource) ClusterRoleBindings(ctx context.Context) ([]*rbacv1.ClusterRoleBinding, error) {
	st, err := s.store("clusterrolebindings")
	if err != nil {
		return nil, err
	}
	obj, err := st.List(request.WithNamespace(ctx, ""), &metainternalversion.ListOptions{})
	if err != nil {
		return nil, err
	}
	list := obj.(*rbacv1.ClusterRoleBindingList)
	out := make([]*rbacv1.ClusterRoleBinding, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (s *storeSource) RoleBindings(ctx context.Context, namespace string) ([]*rbacv1.RoleBinding, error) {
	st, err := s.store("rolebindings")
	if err != nil {
		return nil, err
	}
	obj, err := st.List(request.WithNamespace(ctx, namespace), &metainternalversion.ListOptions{})
	if err != nil {
		return nil, err
	}
	list := obj.(*rbacv1.RoleBindingList)
	out := make([]*rbacv1.RoleBinding, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (s *storeSource) Role(ctx context.Context, namespace, name string) (*rbacv1.Role, error) {
	st, err := s.store("roles")
	if err != nil {
		return nil, err
	}
	obj, err := st.Get(request.WithNamespace(ctx, namespace), name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*rbacv1.Role), nil
}

func (s *storeSource) ClusterRole(ctx context.Context, name string) (*rbacv1.ClusterRole, error) {
	st, err := s.store("clusterroles")
	if err != nil {
		return nil, err
	}
	obj, err := st.Get(request.WithNamespace(ctx, ""), name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*rbacv1.ClusterRole), nil
}
