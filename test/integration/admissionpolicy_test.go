package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestValidatingAdmissionPolicy: admissionregistration.k8s.io/v1
// ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding are served
// with kube's validation and defaults, and the ValidatingAdmissionPolicy
// plugin enforces a bound policy: a StatefulSet of more than 5 replicas is
// refused, with kube's message, in a namespace the binding selects, and
// created in one it does not.
func TestValidatingAdmissionPolicy(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	reg := c.client.AdmissionregistrationV1()

	_, err := reg.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <="}},
		},
	}, metav1.CreateOptions{})
	for _, want := range []string{"spec.matchConstraints: Required value", "spec.validations[0].expression: Invalid value"} {
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid policy: %v, want %q", err, want)
		}
	}
	_, err = reg.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "replica-limit",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Warn}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.validationActions: Invalid value") {
		t.Errorf("binding with Deny and Warn: %v", err)
	}

	policy, err := reg.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "replica-limit"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"statefulsets"}},
				}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <= 5"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := policy.Spec.MatchConstraints; *policy.Spec.FailurePolicy != admissionregistrationv1.Fail || *m.MatchPolicy != admissionregistrationv1.Equivalent ||
		m.NamespaceSelector == nil || m.ObjectSelector == nil || *m.ResourceRules[0].Scope != "*" || policy.Generation != 1 {
		t.Errorf("policy defaults: %+v, generation %d", policy.Spec, policy.Generation)
	}
	binding, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "replica-limit-limited"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "replica-limit",
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"limits": "on"}}},
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *binding.Spec.MatchResources.MatchPolicy != admissionregistrationv1.Equivalent || binding.Spec.MatchResources.ObjectSelector == nil {
		t.Errorf("binding defaults: %+v", binding.Spec.MatchResources)
	}
	for name, labels := range map[string]map[string]string{"limited": {"limits": "on"}, "free": nil} {
		if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	set := func(name string, replicas int32) *appsv1.StatefulSet {
		labels := map[string]string{"app": name}
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}},
		}
	}
	limited := c.client.AppsV1().StatefulSets("limited")
	// The plugin sees the policy and the binding through its informers.
	want := `statefulsets.apps "big-%d" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-limited' denied request: failed expression: object.spec.replicas <= 5`
	var n int
	eventually(t, "the bound policy refusing 6 replicas", func() (bool, error) {
		n++
		_, err := limited.Create(ctx, set(fmt.Sprintf("big-%d", n), 6), metav1.CreateOptions{})
		return err != nil && apierrors.IsInvalid(err) && err.Error() == fmt.Sprintf(want, n), nil
	})
	if _, err := limited.Create(ctx, set("small", 5), metav1.CreateOptions{}); err != nil {
		t.Errorf("5 replicas in the bound namespace: %v", err)
	}
	if _, err := c.client.AppsV1().StatefulSets("free").Create(ctx, set("big", 6), metav1.CreateOptions{}); err != nil {
		t.Errorf("6 replicas in a namespace the binding does not select: %v", err)
	}
}
