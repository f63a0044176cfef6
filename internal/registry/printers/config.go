package printers

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Namespace is kube's table of Namespace objects: its columns and rows.
var Namespace = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Status", Type: "string", Description: "The status of the namespace"},
		ageColumn,
	},
	row: rowFunc(func(ns *corev1.Namespace, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp, now)}}, nil
	}),
}

// ConfigMap is kube's table of ConfigMap objects: its columns and rows.
var ConfigMap = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
		ageColumn,
	},
	row: rowFunc(func(cm *corev1.ConfigMap, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), since(cm.CreationTimestamp, now)}}, nil
	}),
}

// Secret is kube's table of Secret objects: its columns and rows.
var Secret = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Type", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["type"]},
		{Name: "Data", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["data"]},
		ageColumn,
	},
	// DATA counts data only: the API server folds stringData into data on
	// write, so a stored Secret has none.
	row: rowFunc(func(s *corev1.Secret, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{s.Name, string(s.Type), int64(len(s.Data)), since(s.CreationTimestamp, now)}}, nil
	}),
}

// ServiceAccount is kube's table of ServiceAccount objects: NAME and AGE
// only; kube dropped the SECRETS column when token secrets stopped being
// made for service accounts.
var ServiceAccount = Printer{
	columns: []metav1.TableColumnDefinition{nameColumn, ageColumn},
	row: rowFunc(func(sa *corev1.ServiceAccount, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{sa.Name, since(sa.CreationTimestamp, now)}}, nil
	}),
}

// Lease is kube's table of Lease objects: its columns and rows.
var Lease = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
		ageColumn,
	},
	row: rowFunc(func(l *coordinationv1.Lease, now time.Time) (metav1.TableRow, error) {
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return metav1.TableRow{Cells: []any{l.Name, holder, since(l.CreationTimestamp, now)}}, nil
	}),
}

// webhooksColumn is the WEBHOOKS column of both webhook configurations.
var webhooksColumn = metav1.TableColumnDefinition{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"}

// ValidatingWebhookConfiguration is kube's table: NAME, WEBHOOKS, AGE.
var ValidatingWebhookConfiguration = Printer{
	columns: []metav1.TableColumnDefinition{nameColumn, webhooksColumn, ageColumn},
	row: rowFunc(func(c *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{c.Name, int64(len(c.Webhooks)), since(c.CreationTimestamp, now)}}, nil
	}),
}

// MutatingWebhookConfiguration is kube's table: NAME, WEBHOOKS, AGE.
var MutatingWebhookConfiguration = Printer{
	columns: []metav1.TableColumnDefinition{nameColumn, webhooksColumn, ageColumn},
	row: rowFunc(func(c *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{c.Name, int64(len(c.Webhooks)), since(c.CreationTimestamp, now)}}, nil
	}),
}

// ValidatingAdmissionPolicy is kube's table: NAME, VALIDATIONS, PARAMKIND
// (<apiVersion>/<kind>, or <unset>), AGE.
var ValidatingAdmissionPolicy = Printer{
	columns: []metav1.TableColumnDefinition{nameColumn,
		{Name: "Validations", Type: "integer", Description: "Validations indicates the number of validation rules defined in this configuration"},
		{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"},
		ageColumn},
	row: rowFunc(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, now time.Time) (metav1.TableRow, error) {
		paramKind := "<unset>"
		if k := p.Spec.ParamKind; k != nil {
			paramKind = k.APIVersion + "/" + k.Kind
		}
		return metav1.TableRow{Cells: []any{p.Name, int64(len(p.Spec.Validations)), paramKind, since(p.CreationTimestamp, now)}}, nil
	}),
}

// ValidatingAdmissionPolicyBinding is kube's table: NAME, POLICYNAME,
// PARAMREF (<namespace>/<name>, */<name> without a namespace, the selector,
// or <unset>), AGE.
var ValidatingAdmissionPolicyBinding = Printer{
	columns: []metav1.TableColumnDefinition{nameColumn,
		{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
		{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configuration param"},
		ageColumn},
	row: rowFunc(func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, now time.Time) (metav1.TableRow, error) {
		param := "<unset>"
		switch r := b.Spec.ParamRef; {
		case r == nil:
		case r.Name != "" && r.Namespace != "":
			param = r.Namespace + "/" + r.Name
		case r.Name != "":
			param = "*/" + r.Name
		case r.Selector != nil:
			param = r.Selector.String()
		}
		return metav1.TableRow{Cells: []any{b.Name, b.Spec.PolicyName, param, since(b.CreationTimestamp, now)}}, nil
	}),
}
