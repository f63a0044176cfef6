package netpol

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func pod(ns, name, node, ip string, labels map[string]string, ports ...corev1.ContainerPort) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Ports: ports}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
	}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	l := map[string]string{corev1.LabelMetadataName: name}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func policy(ns, name string, sel map[string]string, types []networkingv1.PolicyType, in []networkingv1.NetworkPolicyIngressRule, out []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: sel},
			PolicyTypes: types, Ingress: in, Egress: out},
	}
}

func ptr[T any](v T) *T { return &v }

func tcp(port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(port))}
}

func labelsPeer(l map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: l}}
}

var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	web, db     = map[string]string{"app": "web"}, map[string]string{"app": "db"}
)

// cluster: node-a runs web-0 (10.1.0.2) and db-0 (10.1.0.3) in "shop";
// node-b runs web-1 (10.2.0.2) in "shop" and mon-0 (10.2.0.3) in "ops".
func cluster() Input {
	return Input{
		NodeName: "node-a",
		DNS:      netip.MustParseAddr("10.1.0.1"),
		Pods: []*corev1.Pod{
			pod("shop", "web-0", "node-a", "10.1.0.2", web),
			pod("shop", "db-0", "node-a", "10.1.0.3", db, corev1.ContainerPort{Name: "pg", ContainerPort: 5432}),
			pod("shop", "web-1", "node-b", "10.2.0.2", web),
			pod("ops", "mon-0", "node-b", "10.2.0.3", map[string]string{"app": "mon"}, corev1.ContainerPort{Name: "pg", ContainerPort: 6432}),
		},
		Namespaces: []*corev1.Namespace{namespace("shop", nil), namespace("ops", map[string]string{"team": "ops"}), namespace("kube-system", nil)},
	}
}

// TestCompute: policies + pods + namespaces → the node's sets and per-pod
// matches, written out.
func TestCompute(t *testing.T) {
	cases := []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		mutate   func(*Input)
		want     string
	}{
		{name: "no policy: nothing isolated", want: ""},
		{name: "deny all ingress in a namespace", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "deny", nil, ingressOnly, nil, nil)},
			want: "pod shop/web-0 10.1.0.2\n  ingress: deny\npod shop/db-0 10.1.0.3\n  ingress: deny\n"},
		{name: "policy of another namespace selects nothing here", policies: []*networkingv1.NetworkPolicy{
			policy("ops", "deny", nil, ingressOnly, nil, nil)}, want: ""},
		{name: "from pods of the policy's namespace on every node, to a port", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "db", db, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{labelsPeer(web)}, Ports: []networkingv1.NetworkPolicyPort{tcp(5432)}}}, nil)},
			want: "set peers-0: 10.1.0.2 10.2.0.2\npod shop/db-0 10.1.0.3\n  ingress: [@peers-0 TCP 5432]\n"},
		{name: "namespace selector, and both selectors", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "db", db, ingressOnly, []networkingv1.NetworkPolicyIngressRule{
				{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ops"}}}}},
				{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{},
					PodSelector: &metav1.LabelSelector{MatchLabels: web}}}},
			}, nil)},
			want: "set peers-0: 10.2.0.3\nset peers-1: 10.1.0.2 10.2.0.2\npod shop/db-0 10.1.0.3\n  ingress: [@peers-0] [@peers-1]\n"},
		{name: "additive: two policies select one pod", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "deny", nil, ingressOnly, nil, nil),
			policy("shop", "web", web, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{tcp(8080)}}}, nil)},
			want: "pod shop/web-0 10.1.0.2\n  ingress: [any TCP 8080]\npod shop/db-0 10.1.0.3\n  ingress: deny\n"},
		{name: "ipBlock with except, endPort, UDP and SCTP", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "db", db, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16", "10.3.0.0/24"}}}},
				Ports: []networkingv1.NetworkPolicyPort{
					{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(5000)), EndPort: ptr(int32(5999))},
					{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(53))},
					{Protocol: ptr(corev1.ProtocolSCTP)},
				}}}, nil)},
			want: "set peers-0: 10.0.0.0-10.0.255.255 10.2.0.0-10.2.255.255 10.3.1.0-10.255.255.255\n" +
				"pod shop/db-0 10.1.0.3\n  ingress: [@peers-0 TCP 5000-5999] [@peers-0 UDP 53] [@peers-0 SCTP]\n"},
		{name: "ingress named port is the destination pod's; unresolved matches nothing", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "all", nil, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromString("pg"))}}}}, nil)},
			want: "pod shop/web-0 10.1.0.2\n  ingress: deny\npod shop/db-0 10.1.0.3\n  ingress: [any TCP 5432]\n"},
		{name: "egress named port resolves per destination pod", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "web", web, egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromString("pg"))}}}})},
			want: "set peers-0: 10.1.0.3\nset peers-1: 10.2.0.3\n" +
				"pod shop/web-0 10.1.0.2\n  egress: [@peers-0 TCP 5432] [@peers-1 TCP 6432]\n"},
		{name: "egress: the usual DNS rule admits the node's DNS", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "web", web, egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(53))}, tcp(53)}}})},
			want: "set peers-0: 10.1.0.1\npod shop/web-0 10.1.0.2\n  egress: [@peers-0 UDP 53] [@peers-0 TCP 53]\n"},
		{name: "ingress and egress together; a default egress policy", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "both", db, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				[]networkingv1.NetworkPolicyIngressRule{{}}, nil)},
			want: "pod shop/db-0 10.1.0.3\n  ingress: [any]\n  egress: deny\n"},
		{name: "peers that select no pod allow nothing", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "db", db, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{labelsPeer(map[string]string{"app": "none"})}}}, nil)},
			want: "pod shop/db-0 10.1.0.3\n  ingress: deny\n"},
		{name: "host-network, finished and address-less pods are neither selected nor peers", policies: []*networkingv1.NetworkPolicy{
			policy("shop", "deny", nil, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{labelsPeer(nil)}}}, nil)},
			mutate: func(in *Input) {
				in.Pods[0].Spec.HostNetwork = true
				in.Pods[2].Status.Phase = corev1.PodSucceeded
				in.Pods = append(in.Pods, pod("shop", "new", "node-a", "", web))
			},
			want: "set peers-0: 10.1.0.3\npod shop/db-0 10.1.0.3\n  ingress: [@peers-0]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := cluster()
			in.Policies = tc.policies
			if tc.mutate != nil {
				tc.mutate(&in)
			}
			if got := Compute(in).String(); got != tc.want {
				t.Errorf("rules:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestComputeIsDeterministic: the input's order changes nothing, so an
// unchanged state never rewrites the table.
func TestComputeIsDeterministic(t *testing.T) {
	in := cluster()
	in.Policies = []*networkingv1.NetworkPolicy{
		policy("shop", "a", nil, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{labelsPeer(web)}}}, nil),
		policy("shop", "b", db, egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{labelsPeer(web)}}}),
	}
	want := Compute(in).String()
	for i, j := 0, len(in.Pods)-1; i < j; i, j = i+1, j-1 {
		in.Pods[i], in.Pods[j] = in.Pods[j], in.Pods[i]
	}
	in.Policies[0], in.Policies[1] = in.Policies[1], in.Policies[0]
	if got := Compute(in).String(); got != want {
		t.Errorf("reordered input gave\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(want, "egress:") {
		t.Errorf("no egress rules in\n%s", want)
	}
}

// TestRanges: except cuts, merging of touching ranges, the whole space.
func TestRanges(t *testing.T) {
	r := func(a, b string) Range { return Range{netip.MustParseAddr(a), netip.MustParseAddr(b)} }
	all := blockRanges(&networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}})
	if want := []Range{r("0.0.0.0", "9.255.255.255"), r("11.0.0.0", "255.255.255.255")}; !slices.Equal(all, want) {
		t.Errorf("0.0.0.0/0 except 10/8 = %v, want %v", all, want)
	}
	m := merge([]Range{r("10.0.0.5", "10.0.0.5"), r("10.0.0.1", "10.0.0.4"), r("10.0.0.7", "10.0.0.9"), r("10.0.0.8", "255.255.255.255")})
	if want := []Range{r("10.0.0.1", "10.0.0.5"), r("10.0.0.7", "255.255.255.255")}; !slices.Equal(m, want) {
		t.Errorf("merge = %v, want %v", m, want)
	}
	if e := elements([]Range{r("10.0.0.7", "255.255.255.255")}); len(e) != 1 || e[0].IntervalEnd {
		t.Errorf("a range to the last address has no end element: %v", e)
	}
}
