package clusterroleaggregation

import (
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestAggregate(t *testing.T) {
	get := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	list := rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	other := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}}
	label := func(v string) map[string]string { return map[string]string{"agg": v} }
	agg := &rbacv1.ClusterRole{
		ObjectMeta:      metav1.ObjectMeta{Name: "agg", Labels: label("yes")},
		Rules:           []rbacv1.PolicyRule{other}, // stale rules are replaced
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: label("yes")}}},
	}
	f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	idx := f.Rbac().V1().ClusterRoles().Informer().GetIndexer()
	for _, r := range []*rbacv1.ClusterRole{
		agg,
		{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: label("yes")}, Rules: []rbacv1.PolicyRule{list, get}},
		{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: label("yes")}, Rules: []rbacv1.PolicyRule{get}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c", Labels: label("no")}, Rules: []rbacv1.PolicyRule{other}},
	} {
		if err := idx.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Aggregate(f.Rbac().V1().ClusterRoles().Lister(), agg)
	if err != nil {
		t.Fatal(err)
	}
	// In name order (a, then b), without duplicates, without itself or unmatched roles.
	if want := []rbacv1.PolicyRule{get, list}; !reflect.DeepEqual(got, want) {
		t.Errorf("Aggregate = %+v, want %+v", got, want)
	}
}
