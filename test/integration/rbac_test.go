package integration

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
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

// clientAs is a client of c acting as user name in groups: the admin
// impersonates it (the API server adds system:authenticated).
func clientAs(t *testing.T, c *cluster, name string, groups ...string) kubernetes.Interface {
	t.Helper()
	cfg := restclient.CopyConfig(c.config)
	cfg.Impersonate = restclient.ImpersonationConfig{UserName: name, Groups: groups}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func createNamespace(t *testing.T, c *cluster, name string) {
	t.Helper()
	_, err := c.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRBACAuthorizes: a user without a binding gets kube's 403; a
// RoleBinding grants exactly its role's rules in its namespace.
func TestRBACAuthorizes(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	createNamespace(t, c, "y")
	createNamespace(t, c, "z")
	x := clientAs(t, c, "x")

	_, err := x.CoreV1().Secrets("y").List(ctx, metav1.ListOptions{})
	want := `secrets is forbidden: User "x" cannot list resource "secrets" in API group "" in the namespace "y"`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("list secrets without a binding: %v\nwant: %s", err, want)
	}

	if _, err := c.client.RbacV1().Roles("y").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"list", "get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "x-reads-secrets"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "secret-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x may list secrets in y", func() (bool, error) {
		_, err := x.CoreV1().Secrets("y").List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
	// Only in y, only reading, only secrets.
	if _, err := x.CoreV1().Secrets("z").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets in z: %v, want forbidden", err)
	}
	if err := x.CoreV1().Secrets("y").Delete(ctx, "any", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete a secret in y: %v, want forbidden", err)
	}
	if _, err := x.CoreV1().ConfigMaps("y").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list configmaps in y: %v, want forbidden", err)
	}
	// The default policy: discovery for every authenticated user; the
	// public paths for anonymous users too.
	if _, err := x.Discovery().ServerGroups(); err != nil {
		t.Errorf("discovery as x: %v", err)
	}
	// A group binding through a ClusterRoleBinding applies everywhere.
	devs := clientAs(t, c, "y-dev", "devs")
	if _, err := c.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "devs-view"},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "Group", Name: "devs"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "group devs may list pods everywhere", func() (bool, error) {
		_, err := devs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
	if _, err := devs.CoreV1().Secrets("z").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("view lists secrets: %v, want forbidden", err)
	}
}

// TestRBACEscalation: a user may create roles and bindings only with rules
// it holds, unless it holds the escalate or bind verb.
func TestRBACEscalation(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	createNamespace(t, c, "y")
	// x may manage roles and bindings in y and read configmaps, nothing
	// else ("*" would include escalate and bind).
	if _, err := c.client.RbacV1().Roles("y").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "rbac-manager"},
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list", "create", "update", "delete"}, APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}},
			{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "x-manages-rbac"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "rbac-manager"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	x := clientAs(t, c, "x")
	eventually(t, "x may list roles in y", func() (bool, error) {
		_, err := x.RbacV1().Roles("y").List(ctx, metav1.ListOptions{})
		return err == nil, err
	})

	// A role with rules x holds: allowed.
	if _, err := x.RbacV1().Roles("y").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cm-reader"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("role within x's rules: %v", err)
	}
	// A role granting secrets: refused with kube's message.
	_, err := x.RbacV1().Roles("y").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"secrets"}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "x" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:`) ||
		!strings.Contains(err.Error(), `{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`) {
		t.Fatalf("escalating role: %v", err)
	}
	// Binding x to admin (more than x holds, once aggregated): refused.
	eventually(t, "admin aggregated", func() (bool, error) {
		r, err := c.client.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
		return err == nil && len(r.Rules) > 0, err
	})
	_, err = x.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "x-admin"},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
	}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "is attempting to grant RBAC permissions not currently held") {
		t.Fatalf("binding to admin: %v", err)
	}
	// Binding another user to a role within x's rules: allowed.
	if _, err := x.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "w-reads-cm"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "cm-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "w"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("binding within x's rules: %v", err)
	}

	// With bind on clusterrole view, x may bind view; with escalate on
	// roles, x may write any role.
	if _, err := c.client.RbacV1().Roles("y").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "delegate"},
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"bind"}, APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, ResourceNames: []string{"view"}},
			{Verbs: []string{"escalate"}, APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "x-delegate"},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "delegate"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x may bind view", func() (bool, error) {
		_, err := x.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "x-view"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
		}, metav1.CreateOptions{})
		return err == nil, err
	})
	if _, err := x.RbacV1().Roles("y").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"secrets"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Errorf("role with escalate: %v", err)
	}
	// bind on view is not bind on edit.
	_, err = x.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "x-edit"},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
	}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("binding edit with bind on view only: %v", err)
	}
}

// TestRBACBootstrapPolicy: the default roles exist, admin/edit/view gather
// the rules of roles labelled for aggregation, and the policy is restored
// at the next start when removed.
func TestRBACBootstrapPolicy(t *testing.T) {
	dir := t.TempDir()
	c := startCluster(t, dir)
	ctx := context.Background()
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
		"system:public-info-viewer", "system:node-bootstrapper"} {
		if _, err := c.client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("clusterrole %s: %v", name, err)
		}
	}
	crb, err := c.client.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-admin", metav1.GetOptions{})
	if err != nil || len(crb.Subjects) != 1 || crb.Subjects[0].Name != "system:masters" {
		t.Fatalf("cluster-admin binding: %+v %v", crb, err)
	}

	// Aggregation: a role labelled aggregate-to-view reaches view, edit and admin.
	widgets := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}
	if _, err := c.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "widget-viewer", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules:      []rbacv1.PolicyRule{widgets},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"view", "edit", "admin"} {
		eventually(t, name+" aggregates widgets", func() (bool, error) {
			r, err := c.client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, rule := range r.Rules {
				if reflect.DeepEqual(rule, widgets) {
					return true, nil
				}
			}
			return false, nil
		})
	}
	view, _ := c.client.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
	hasPods := false
	for _, r := range view.Rules {
		for _, res := range r.Resources {
			hasPods = hasPods || res == "pods"
		}
	}
	if !hasPods {
		t.Errorf("view does not have system:aggregate-to-view's rules: %+v", view.Rules)
	}

	// Reconciled on start: a deleted role comes back, a removed subject too.
	if err := c.client.RbacV1().ClusterRoles().Delete(ctx, "system:discovery", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	crb.Subjects = nil
	if _, err := c.client.RbacV1().ClusterRoleBindings().Update(ctx, crb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.stop()
	c = startCluster(t, dir)
	if _, err := c.client.RbacV1().ClusterRoles().Get(ctx, "system:discovery", metav1.GetOptions{}); err != nil {
		t.Errorf("system:discovery after restart: %v", err)
	}
	crb, err = c.client.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-admin", metav1.GetOptions{})
	if err != nil || len(crb.Subjects) != 1 || crb.Subjects[0].Name != "system:masters" {
		t.Errorf("cluster-admin binding after restart: %+v %v", crb, err)
	}
}
