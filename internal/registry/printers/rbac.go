package printers

import (
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Role is kube's table of Roles and ClusterRoles: the name and the
// creation time as an RFC 3339 date.
var Role = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
	},
	row: func(obj runtime.Object, _ time.Time) (metav1.TableRow, error) {
		m, ok := obj.(metav1.Object)
		if !ok {
			return metav1.TableRow{}, fmt.Errorf("no table handler registered for this type %T", obj)
		}
		switch obj.(type) {
		case *rbacv1.Role, *rbacv1.ClusterRole:
		default:
			return metav1.TableRow{}, fmt.Errorf("no table handler registered for this type %T", obj)
		}
		return metav1.TableRow{Cells: []any{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}}, nil
	},
}

var bindingColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Role", Type: "string", Description: rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]},
	ageColumn,
	{Name: "Users", Type: "string", Priority: 1, Description: "Users in the roleBinding"},
	{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the roleBinding"},
	{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the roleBinding"},
}

// RoleBinding is kube's table of RoleBinding objects: its columns and rows.
var RoleBinding = Printer{
	columns: bindingColumns,
	row: rowFunc(func(b *rbacv1.RoleBinding, now time.Time) (metav1.TableRow, error) {
		return bindingRow(b.Name, b.RoleRef, b.Subjects, since(b.CreationTimestamp, now)), nil
	}),
}

// ClusterRoleBinding is kube's table of ClusterRoleBinding objects: its columns and rows.
var ClusterRoleBinding = Printer{
	columns: bindingColumns,
	row: rowFunc(func(b *rbacv1.ClusterRoleBinding, now time.Time) (metav1.TableRow, error) {
		return bindingRow(b.Name, b.RoleRef, b.Subjects, since(b.CreationTimestamp, now)), nil
	}),
}

// bindingRow is one binding: ROLE is kind/name; the subjects split into
// users, groups and service accounts (namespace/name), as kube prints them.
func bindingRow(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, age string) metav1.TableRow {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		}
	}
	return metav1.TableRow{Cells: []any{
		name, ref.Kind + "/" + ref.Name, age,
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "),
	}}
}
