package rbac

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRuleAllows(t *testing.T) {
	res := func(verb, group, resource, sub, name string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Name: name, ResourceRequest: true}
	}
	path := func(verb, p string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: verb, Path: p}
	}
	cases := []struct {
		name  string
		rule  rbacv1.PolicyRule
		attrs authorizer.AttributesRecord
		want  bool
	}{
		{"exact", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, res("get", "", "pods", "", "p"), true},
		{"other verb", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, res("list", "", "pods", "", ""), false},
		{"other group", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"statefulsets"}}, res("get", "apps", "statefulsets", "", ""), false},
		{"wildcards", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, res("delete", "apps", "statefulsets", "scale", "web"), true},
		{"resource does not cover subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, res("get", "", "pods", "log", "p"), false},
		{"subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}, res("get", "", "pods", "log", "p"), true},
		{"any resource's subresource", rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"*"}, Resources: []string{"*/status"}}, res("update", "apps", "statefulsets", "status", "web"), true},
		{"*/status is not status of nothing", rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"*"}, Resources: []string{"*/status"}}, res("update", "apps", "statefulsets", "", "web"), false},
		{"resource name", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a"}}, res("get", "", "secrets", "", "a"), true},
		{"other resource name", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a"}}, res("get", "", "secrets", "", "b"), false},
		{"names do not allow list", rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a"}}, res("list", "", "secrets", "", ""), false},
		{"url", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, path("get", "/healthz"), true},
		{"url prefix", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/apis/*"}}, path("get", "/apis/apps/v1"), true},
		{"url without star is exact", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, path("get", "/healthz/etcd"), false},
		{"resource rule never matches a url", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, path("get", "/healthz"), false},
		{"url rule never matches a resource", rbacv1.PolicyRule{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}, res("get", "", "pods", "", ""), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RuleAllows(tc.attrs, &tc.rule); got != tc.want {
				t.Errorf("RuleAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

// authorizerOver returns an authorizer over real listers filled with objs.
func authorizerOver(t *testing.T, objs ...any) *Authorizer {
	t.Helper()
	f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	rb := f.Rbac().V1()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *rbacv1.Role:
			err = rb.Roles().Informer().GetIndexer().Add(o)
		case *rbacv1.ClusterRole:
			err = rb.ClusterRoles().Informer().GetIndexer().Add(o)
		case *rbacv1.RoleBinding:
			err = rb.RoleBindings().Informer().GetIndexer().Add(o)
		case *rbacv1.ClusterRoleBinding:
			err = rb.ClusterRoleBindings().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return NewAuthorizer(NewResolver(Listers{
		RoleLister: rb.Roles().Lister(), ClusterRoleLister: rb.ClusterRoles().Lister(),
		RoleBindingLister: rb.RoleBindings().Lister(), ClusterRoleBindingLister: rb.ClusterRoleBindings().Lister(),
	}))
}

func TestAuthorizerSubjects(t *testing.T) {
	read := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "read"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}},
	}}
	a := authorizerOver(t, read,
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns1"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "read"},
			Subjects: []rbacv1.Subject{
				{Kind: "ServiceAccount", Name: "builder"}, // namespace defaults to the binding's
				{Kind: "Group", Name: "devs"},
			},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "c"},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "read"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: "alice"}},
		},
		// A binding to a missing role grants nothing and reports why.
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "dangling", Namespace: "ns2"},
			RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "missing"},
			Subjects:   []rbacv1.Subject{{Kind: "User", Name: "bob"}},
		},
	)
	get := func(u user.Info, ns string) (authorizer.Decision, string) {
		d, reason, err := a.Authorize(context.Background(), authorizer.AttributesRecord{
			User: u, Verb: "get", Resource: "configmaps", Namespace: ns, Name: "x", ResourceRequest: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return d, reason
	}
	sa := &user.DefaultInfo{Name: "system:serviceaccount:ns1:builder"}
	if d, reason := get(sa, "ns1"); d != authorizer.DecisionAllow || reason != `RBAC: allowed by RoleBinding "b/ns1" of ClusterRole "read" to ServiceAccount "builder/ns1"` {
		t.Errorf("service account in ns1: %v %q", d, reason)
	}
	if d, _ := get(&user.DefaultInfo{Name: "system:serviceaccount:ns2:builder"}, "ns1"); d == authorizer.DecisionAllow {
		t.Error("service account of another namespace allowed")
	}
	if d, _ := get(sa, "ns2"); d == authorizer.DecisionAllow {
		t.Error("RoleBinding applied outside its namespace")
	}
	if d, _ := get(&user.DefaultInfo{Name: "carol", Groups: []string{"devs"}}, "ns1"); d != authorizer.DecisionAllow {
		t.Error("group member not allowed")
	}
	if d, _ := get(&user.DefaultInfo{Name: "alice"}, "anywhere"); d != authorizer.DecisionAllow {
		t.Error("ClusterRoleBinding user not allowed")
	}
	if d, reason := get(&user.DefaultInfo{Name: "bob"}, "ns2"); d != authorizer.DecisionNoOpinion || !strings.Contains(reason, "not found") {
		t.Errorf("dangling binding: %v %q", d, reason)
	}
	if d, reason := get(&user.DefaultInfo{Name: "nobody"}, "ns1"); d != authorizer.DecisionNoOpinion || reason != "" {
		t.Errorf("no binding: %v %q, want no opinion without a reason", d, reason)
	}
}

func TestCompactString(t *testing.T) {
	rules := compactRules([]rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
		{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}},
	})
	var got []string
	for _, r := range rules {
		got = append(got, compactString(r))
	}
	want := []string{`{NonResourceURLs:["/metrics"], Verbs:["get"]}`, `{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
