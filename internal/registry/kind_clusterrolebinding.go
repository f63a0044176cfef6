package registry

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// clusterRoleBindingKind is rbac.authorization.k8s.io/v1
// ClusterRoleBinding; guard decides who may write one (nil: everyone the
// authorizer lets through).
func clusterRoleBindingKind(guard RBACGuard) *Kind {
	return &Kind{
		GVK: rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"), Resource: "clusterrolebindings", Singular: "clusterrolebinding",
		New: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }, NewList: func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		BeginCreate: guardCreate(guard), BeginUpdate: guardUpdate(guard),

		Validate:       validateCreate(validation.ValidateClusterRoleBinding),
		ValidateUpdate: validateUpdate(validation.ValidateClusterRoleBindingUpdate),
		Default:        defaulter(defaults.ClusterRoleBinding),
		Printer:        printers.ClusterRoleBinding,
	}
}
