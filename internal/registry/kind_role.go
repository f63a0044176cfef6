package registry

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// roleKind is rbac.authorization.k8s.io/v1 Role; guard decides who may
// write one (nil: everyone the authorizer lets through).
func roleKind(guard RBACGuard) *Kind {
	return &Kind{
		GVK: rbacv1.SchemeGroupVersion.WithKind("Role"), Resource: "roles", Singular: "role", Namespaced: true,
		New: func() runtime.Object { return &rbacv1.Role{} }, NewList: func() runtime.Object { return &rbacv1.RoleList{} },
		BeginCreate: guardCreate(guard), BeginUpdate: guardUpdate(guard),

		Validate:       validateCreate(validation.ValidateRole),
		ValidateUpdate: validateUpdate(validation.ValidateRoleUpdate),
		NoDefaults:     true,
		Printer:        printers.Role,
	}
}
