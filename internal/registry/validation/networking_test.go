package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validNetworkPolicy() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", ResourceVersion: "1"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptrTo(corev1.ProtocolTCP), Port: ptrTo(intstr.FromInt32(5432))}},
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
}

// TestNetworkPolicy: kube 1.37's messages for each spec rule.
func TestNetworkPolicy(t *testing.T) {
	gk := schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}
	port := func(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicyPort {
		return &np.Spec.Ingress[0].Ports[0]
	}
	peer := func(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicyPeer {
		return &np.Spec.Ingress[0].From[0]
	}
	cases := []struct {
		name   string
		mutate func(*networkingv1.NetworkPolicy)
		want   []string
	}{
		{"valid", func(*networkingv1.NetworkPolicy) {}, nil},
		{"deny all: empty selector, no rules", func(np *networkingv1.NetworkPolicy) {
			np.Spec = networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"}}
		}, nil},
		{"port range", func(np *networkingv1.NetworkPolicy) { port(np).EndPort = ptrTo(int32(5440)) }, nil},
		{"named port, UDP and SCTP", func(np *networkingv1.NetworkPolicy) {
			port(np).Port = ptrTo(intstr.FromString("dns"))
			port(np).Protocol = ptrTo(corev1.ProtocolUDP)
			np.Spec.Ingress[0].Ports = append(np.Spec.Ingress[0].Ports, networkingv1.NetworkPolicyPort{Protocol: ptrTo(corev1.ProtocolSCTP)})
		}, nil},
		{"pod and namespace selector", func(np *networkingv1.NetworkPolicy) { peer(np).NamespaceSelector = &metav1.LabelSelector{} }, nil},
		{"ipBlock with except", func(np *networkingv1.NetworkPolicy) {
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{
				CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}}}}
		}, nil},
		{"bad protocol", func(np *networkingv1.NetworkPolicy) { port(np).Protocol = ptrTo(corev1.Protocol("ICMP")) }, []string{
			`spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`}},
		{"port out of range", func(np *networkingv1.NetworkPolicy) { port(np).Port = ptrTo(intstr.FromInt32(70000)) }, []string{
			"spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		{"endPort below port", func(np *networkingv1.NetworkPolicy) { port(np).EndPort = ptrTo(int32(80)) }, []string{
			"spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`"}},
		{"endPort with a named port", func(np *networkingv1.NetworkPolicy) {
			port(np).Port = ptrTo(intstr.FromString("http"))
			port(np).EndPort = ptrTo(int32(90))
		}, []string{"spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric"}},
		{"endPort without port", func(np *networkingv1.NetworkPolicy) {
			port(np).Port = nil
			port(np).EndPort = ptrTo(int32(90))
		}, []string{"spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified"}},
		{"bad port name", func(np *networkingv1.NetworkPolicy) { port(np).Port = ptrTo(intstr.FromString("no_such")) }, []string{
			`spec.ingress[0].ports[0].port: Invalid value: "no_such"`}},
		{"empty peer", func(np *networkingv1.NetworkPolicy) { *peer(np) = networkingv1.NetworkPolicyPeer{} }, []string{
			"spec.ingress[0].from[0]: Required value: must specify a peer"}},
		{"ipBlock and a selector", func(np *networkingv1.NetworkPolicy) { peer(np).IPBlock = &networkingv1.IPBlock{CIDR: "10.0.0.0/8"} }, []string{
			"spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"}},
		{"ipBlock without cidr", func(np *networkingv1.NetworkPolicy) {
			*peer(np) = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{}}
		}, []string{
			"spec.ingress[0].from[0].ipBlock.cidr: Required value"}},
		{"ipBlock not a CIDR", func(np *networkingv1.NetworkPolicy) {
			*peer(np) = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.1"}}
		}, []string{`spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.1"`}},
		{"ipBlock not canonical (strict)", func(np *networkingv1.NetworkPolicy) {
			*peer(np) = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.1/8"}}
		}, []string{`spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length`}},
		{"except outside cidr", func(np *networkingv1.NetworkPolicy) {
			*peer(np) = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.1.0.0/24", "10.0.0.0/16"}}}
		}, []string{
			`spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of ` + "`cidr`",
			`spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "10.0.0.0/16": must be a strict subset of ` + "`cidr`"}},
		{"bad selectors", func(np *networkingv1.NetworkPolicy) {
			np.Spec.PodSelector.MatchLabels["app"] = "a b"
			peer(np).NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Near"}}}
		}, []string{`spec.podSelector.matchLabels: Invalid value: "a b"`,
			`spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`}},
		{"unknown policy type", func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes = []networkingv1.PolicyType{"Sideways"} }, []string{
			`spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"`}},
		{"three policy types", func(np *networkingv1.NetworkPolicy) {
			np.Spec.PolicyTypes = []networkingv1.PolicyType{"Ingress", "Egress", "Ingress"}
		}, []string{"spec.policyTypes: Invalid value:", "may not specify more than two policyTypes"}},
		{"bad name", func(np *networkingv1.NetworkPolicy) { np.Name = "Db" }, []string{`metadata.name: Invalid value: "Db"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			np := validNetworkPolicy()
			tc.mutate(np)
			checkErrs(t, gk, np.Name, ValidateNetworkPolicy(np), tc.want)
		})
	}

	t.Run("update may change the spec", func(t *testing.T) {
		old := validNetworkPolicy()
		np := old.DeepCopy()
		np.Spec.Ingress = nil
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		checkErrs(t, gk, np.Name, ValidateNetworkPolicyUpdate(np, old), nil)
	})
	t.Run("stored invalid pod selector values ratchet", func(t *testing.T) {
		old := validNetworkPolicy()
		in := func(v string) []metav1.LabelSelectorRequirement {
			return []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{v}}}
		}
		old.Spec.PodSelector.MatchExpressions = in("a b")
		np := old.DeepCopy()
		peer(np).PodSelector.MatchExpressions = in("c d")
		checkErrs(t, gk, np.Name, ValidateNetworkPolicyUpdate(np, old), nil)
		checkErrs(t, gk, np.Name, ValidateNetworkPolicyUpdate(np, validNetworkPolicy()), []string{
			`spec.podSelector.matchExpressions[0].values[0]: Invalid value: "a b"`,
			`spec.ingress[0].from[0].podSelector.matchExpressions[0].values[0]: Invalid value: "c d"`})
	})
}
