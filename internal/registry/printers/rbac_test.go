package printers

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestRBACRows(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC))
	checkRows(t, schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}, []rowCase{{
		name: "created at is a date",
		obj:  &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view", CreationTimestamp: created}},
		want: []any{"view", "2026-12-03T01:02:03Z"},
	}})
	checkRows(t, schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}, []rowCase{{
		name: "subjects split by kind",
		obj: &rbacv1.RoleBinding{
			ObjectMeta: objMeta("b", 5*time.Minute),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
			Subjects: []rbacv1.Subject{
				{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"}, {Kind: "Group", Name: "devs"},
				{Kind: "ServiceAccount", Namespace: "default", Name: "builder"},
			},
		},
		want: []any{"b", "ClusterRole/edit", "5m", "alice, bob", "devs", "default/builder"},
	}})
}
