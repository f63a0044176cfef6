package validation

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClusterRole(t *testing.T) {
	gk := schema.GroupKind{Group: rbacv1.GroupName, Kind: "ClusterRole"}
	cases := []struct {
		name string
		role rbacv1.ClusterRole
		want []string
	}{
		{"valid", rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:x"}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}},
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/api/*"}},
		}}, nil},
		{"no verbs", rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}},
		}}, []string{"rules[0].verbs: Required value: verbs must contain at least one value"}},
		{"no api groups", rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, Resources: []string{"pods"}},
		}}, []string{"rules[0].apiGroups: Required value: resource rules must supply at least one api group"}},
		{"both kinds of rule", rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, Resources: []string{"pods"}, NonResourceURLs: []string{"/x"}},
		}}, []string{"rules cannot apply to both regular resources and non-resource URLs"}},
		{"name with slash", rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "a/b"}}, []string{`metadata.name: Invalid value: "a/b": may not contain '/'`}},
		{"empty aggregation", rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, AggregationRule: &rbacv1.AggregationRule{}},
			[]string{"aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, gk, tc.role.Name, ValidateClusterRole(&tc.role), tc.want)
		})
	}
}

func TestRole(t *testing.T) {
	gk := schema.GroupKind{Group: rbacv1.GroupName, Kind: "Role"}
	r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "default"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}},
	}}
	checkErrs(t, gk, r.Name, ValidateRole(r), []string{"rules[0].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs"})
}

func TestRoleBinding(t *testing.T) {
	gk := schema.GroupKind{Group: rbacv1.GroupName, Kind: "RoleBinding"}
	valid := func() *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default", ResourceVersion: "1"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{
				{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"},
				{Kind: "ServiceAccount", Name: "default"},
			},
		}
	}
	cases := []struct {
		name   string
		mutate func(*rbacv1.RoleBinding)
		want   []string
	}{
		{"valid", func(*rbacv1.RoleBinding) {}, nil},
		{"bad role kind", func(b *rbacv1.RoleBinding) { b.RoleRef.Kind = "Pod" }, []string{`roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"`}},
		{"bad role group", func(b *rbacv1.RoleBinding) { b.RoleRef.APIGroup = "" }, []string{`roleRef.apiGroup: Unsupported value: "": supported values: "rbac.authorization.k8s.io"`}},
		{"no role name", func(b *rbacv1.RoleBinding) { b.RoleRef.Name = "" }, []string{"roleRef.name: Required value"}},
		{"bad subject kind", func(b *rbacv1.RoleBinding) { b.Subjects[0].Kind = "Robot" }, []string{`subjects[0].kind: Unsupported value: "Robot"`}},
		{"user without group", func(b *rbacv1.RoleBinding) { b.Subjects[0].APIGroup = "" }, []string{`subjects[0].apiGroup: Unsupported value: ""`}},
		{"bad service account name", func(b *rbacv1.RoleBinding) { b.Subjects[1].Name = "Bad_Name" }, []string{`subjects[1].name: Invalid value: "Bad_Name"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.mutate(b)
			checkErrs(t, gk, b.Name, ValidateRoleBinding(b), tc.want)
		})
	}
	t.Run("roleRef is immutable", func(t *testing.T) {
		old, b := valid(), valid()
		b.RoleRef.Name = "edit"
		checkErrs(t, gk, b.Name, ValidateRoleBindingUpdate(b, old), []string{"roleRef: Invalid value: ", "cannot change roleRef"})
	})
}

func TestClusterRoleBinding(t *testing.T) {
	gk := schema.GroupKind{Group: rbacv1.GroupName, Kind: "ClusterRoleBinding"}
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "b"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}},
	}
	checkErrs(t, gk, b.Name, ValidateClusterRoleBinding(b), []string{
		`roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`,
		"subjects[0].namespace: Required value",
	})
}
