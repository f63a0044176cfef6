package registry

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// clusterRoleKind is rbac.authorization.k8s.io/v1 ClusterRole; guard
// decides who may write one (nil: everyone the authorizer lets through).
func clusterRoleKind(guard RBACGuard) *Kind {
	return &Kind{
		GVK: rbacv1.SchemeGroupVersion.WithKind("ClusterRole"), Resource: "clusterroles", Singular: "clusterrole",
		New: func() runtime.Object { return &rbacv1.ClusterRole{} }, NewList: func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		BeginCreate: guardCreate(guard), BeginUpdate: guardUpdate(guard),

		Validate:       validateCreate(validation.ValidateClusterRole),
		ValidateUpdate: validateUpdate(validation.ValidateClusterRoleUpdate),
		NoDefaults:     true,
		Printer:        printers.Role,
	}
}
