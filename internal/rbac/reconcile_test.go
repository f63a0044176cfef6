package rbac

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestEnsurePolicy: on an empty cluster every bootstrap role and binding
// is created; run again it restores what an operator removed, keeps what
// an operator added, leaves objects marked autoupdate "false" alone, and a
// failing object is reported by name while the others are reconciled.
func TestEnsurePolicy(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cs := fake.NewClientset()
	if err := EnsurePolicy(ctx, cs, log); err != nil {
		t.Fatal(err)
	}
	for _, want := range ClusterRoles() {
		got, err := cs.RbacV1().ClusterRoles().Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("clusterrole %s: %v", want.Name, err)
		}
		if len(got.Rules) != len(want.Rules) {
			t.Errorf("clusterrole %s has %d rules, want %d", want.Name, len(got.Rules), len(want.Rules))
		}
	}
	for _, want := range ClusterRoleBindings() {
		got, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("clusterrolebinding %s: %v", want.Name, err)
		}
		if got.RoleRef != want.RoleRef || len(got.Subjects) != len(want.Subjects) {
			t.Errorf("clusterrolebinding %s = %v %v, want %v %v", want.Name, got.RoleRef, got.Subjects, want.RoleRef, want.Subjects)
		}
	}

	// An operator's changes: a rule added to one role, one taken from
	// another, and a third marked not to be updated, emptied.
	extra := rbacv1.PolicyRule{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}}
	mutate := func(name string, f func(*rbacv1.ClusterRole)) {
		r, err := cs.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f(r)
		if _, err := cs.RbacV1().ClusterRoles().Update(ctx, r, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mutate("system:discovery", func(r *rbacv1.ClusterRole) { r.Rules = append(r.Rules, extra) })
	mutate("system:basic-user", func(r *rbacv1.ClusterRole) { r.Rules = r.Rules[1:] })
	mutate("system:monitoring", func(r *rbacv1.ClusterRole) {
		r.Annotations = map[string]string{"rbac.authorization.kubernetes.io/autoupdate": "false"}
		r.Rules = nil
	})
	// And a create that fails for one binding, deleted first.
	if err := cs.RbacV1().ClusterRoleBindings().Delete(ctx, "system:monitoring", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cs.PrependReactor("create", "clusterrolebindings", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.CreateAction).GetObject().(*rbacv1.ClusterRoleBinding).Name == "system:monitoring" {
			return true, nil, errors.New("etcd is down")
		}
		return false, nil, nil
	})
	err := EnsurePolicy(ctx, cs, log)
	if err == nil || !strings.Contains(err.Error(), "clusterrolebinding system:monitoring") || !strings.Contains(err.Error(), "etcd is down") {
		t.Errorf("EnsurePolicy = %v, want the failing binding named", err)
	}
	get := func(name string) *rbacv1.ClusterRole {
		r, err := cs.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	byName := map[string]rbacv1.ClusterRole{}
	for _, r := range ClusterRoles() {
		byName[r.Name] = r
	}
	if d := get("system:discovery"); len(d.Rules) != len(byName["system:discovery"].Rules)+1 {
		t.Errorf("the operator's rule on system:discovery was not kept: %v", d.Rules)
	}
	if b := get("system:basic-user"); !grantsAll(b.Rules, byName["system:basic-user"].Rules) {
		t.Errorf("system:basic-user's removed rule was not restored: %v", b.Rules)
	}
	if m := get("system:monitoring"); len(m.Rules) != 0 {
		t.Errorf("system:monitoring is marked autoupdate false but was updated: %v", m.Rules)
	}
}

// TestRunBoundedCancelled: jobs not started when the context ends are
// skipped with its error.
func TestRunBoundedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := 0
	err := runBounded(ctx, 1, []func() error{func() error { ran++; return nil }})
	if !errors.Is(err, context.Canceled) || ran != 0 {
		t.Errorf("runBounded after cancel = %v (ran %d), want context.Canceled and nothing run", err, ran)
	}
}

// grantsAll reports whether rules grant every group/resource/verb and
// non-resource URL/verb that want grants (spelled out one by one, as the
// reconciliation adds missing permissions).
func grantsAll(rules, want []rbacv1.PolicyRule) bool {
	have := map[string]bool{}
	for _, k := range permissions(rules) {
		have[k] = true
	}
	for _, k := range permissions(want) {
		if !have[k] {
			return false
		}
	}
	return true
}

func permissions(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, v := range r.Verbs {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					out = append(out, g+"/"+res+":"+v)
				}
			}
			for _, u := range r.NonResourceURLs {
				out = append(out, u+":"+v)
			}
		}
	}
	return out
}
