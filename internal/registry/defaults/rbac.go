package defaults

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// RoleBinding defaults roleRef.apiGroup and the subjects' apiGroups.
func RoleBinding(b *rbacv1.RoleBinding) {
	if b.RoleRef.APIGroup == "" {
		b.RoleRef.APIGroup = rbacv1.GroupName
	}
	eachPtr(b.Subjects, Subject)
}

// ClusterRoleBinding defaults roleRef.apiGroup and the subjects' apiGroups.
func ClusterRoleBinding(b *rbacv1.ClusterRoleBinding) {
	if b.RoleRef.APIGroup == "" {
		b.RoleRef.APIGroup = rbacv1.GroupName
	}
	eachPtr(b.Subjects, Subject)
}

// Subject defaults apiGroup: rbac.authorization.k8s.io for users and
// groups, "" (core) for service accounts.
func Subject(s *rbacv1.Subject) {
	if s.APIGroup != "" {
		return
	}
	switch s.Kind {
	case rbacv1.UserKind, rbacv1.GroupKind:
		s.APIGroup = rbacv1.GroupName
	}
}

func eachPtr[T any](items []T, fn func(*T)) {
	for i := range items {
		fn(&items[i])
	}
}
