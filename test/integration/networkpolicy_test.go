package integration

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestNetworkPolicyAPI: a NetworkPolicy as client-go sees it on kube —
// defaults on create (protocol TCP, policyTypes from the rules), generation
// 1 then moved by a spec change only, kube's message for an invalid one.
func TestNetworkPolicyAPI(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	nps := c.client.NetworkingV1().NetworkPolicies("default")
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &intstr.IntOrString{IntVal: 53}}}}},
		},
	}
	got, err := nps.Create(ctx, np, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Spec.Egress[0].Ports[0].Protocol; p == nil || *p != corev1.ProtocolTCP {
		t.Errorf("port protocol %v, want TCP", p)
	}
	if types := got.Spec.PolicyTypes; len(types) != 2 || types[0] != networkingv1.PolicyTypeIngress || types[1] != networkingv1.PolicyTypeEgress {
		t.Errorf("policyTypes %v, want [Ingress Egress]", types)
	}
	if got.Generation != 1 {
		t.Errorf("generation %d after create, want 1", got.Generation)
	}

	got.Labels = map[string]string{"tier": "front"}
	if got, err = nps.Update(ctx, got, metav1.UpdateOptions{}); err != nil || got.Generation != 1 {
		t.Fatalf("label update: generation %d (%v), want 1", got.Generation, err)
	}
	got.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	if got, err = nps.Update(ctx, got, metav1.UpdateOptions{}); err != nil || got.Generation != 2 {
		t.Fatalf("spec update: generation %d (%v), want 2", got.Generation, err)
	}

	bad := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{
			CIDR: "10.0.0.0/16", Except: []string{"10.1.0.0/24"}}}}}},
	}}
	_, err = nps.Create(ctx, bad, metav1.CreateOptions{})
	want := `NetworkPolicy.networking.k8s.io "bad" is invalid: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of ` + "`cidr`"
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("create with an except outside the cidr: %v, want %s", err, want)
	}
}
