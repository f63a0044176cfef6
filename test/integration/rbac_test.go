package integration

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRBACKinds serves the four rbac.authorization.k8s.io/v1 kinds with
// kube's defaulting and validation.
func TestRBACKinds(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	rbac := c.client.RbacV1()

	role, err := rbac.Roles("default").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if role.UID == "" || len(role.Rules) != 1 {
		t.Fatalf("stored role = %+v", role)
	}
	b, err := rbac.RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-pods"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "ServiceAccount", Name: "default"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.RoleRef.APIGroup != rbacv1.GroupName || b.Subjects[0].APIGroup != rbacv1.GroupName || b.Subjects[1].APIGroup != "" {
		t.Errorf("defaulting: roleRef %+v subjects %+v", b.RoleRef, b.Subjects)
	}
	b.RoleRef.Name = "other"
	_, err = rbac.RoleBindings("default").Update(ctx, b, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "cannot change roleRef") {
		t.Errorf("changing roleRef: %v, want Invalid: cannot change roleRef", err)
	}
	_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `roleRef.kind: Unsupported value: "Role"`) {
		t.Errorf("ClusterRoleBinding to a Role: %v", err)
	}
	_, err = rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "no-verbs"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "rules[0].verbs: Required value") {
		t.Errorf("ClusterRole without verbs: %v", err)
	}
	if err := rbac.Roles("default").Delete(ctx, "pod-reader", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.Roles("default").Get(ctx, "pod-reader", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v", err)
	}
}
