package registry

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/defaults"
	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// roleBindingKind is rbac.authorization.k8s.io/v1 RoleBinding; guard
// decides who may write one (nil: everyone the authorizer lets through).
func roleBindingKind(guard RBACGuard) *Kind {
	return &Kind{
		GVK: rbacv1.SchemeGroupVersion.WithKind("RoleBinding"), Resource: "rolebindings", Singular: "rolebinding", Namespaced: true,
		New: func() runtime.Object { return &rbacv1.RoleBinding{} }, NewList: func() runtime.Object { return &rbacv1.RoleBindingList{} },
		BeginCreate: guardCreate(guard), BeginUpdate: guardUpdate(guard),

		Validate:       validateCreate(validation.ValidateRoleBinding),
		ValidateUpdate: validateUpdate(validation.ValidateRoleBindingUpdate),
		Default:        defaulter(defaults.RoleBinding),
		Printer:        printers.RoleBinding,
	}
}
