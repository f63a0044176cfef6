package proxy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func service(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, Ports: ports}}
}

func slice(ns, svc, name string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: ports, Endpoints: eps}
}

func ep(ip string, ready *bool, node string) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	if node != "" {
		e.NodeName = ptr.To(node)
	}
	return e
}

func TestCompute(t *testing.T) {
	web := service("default", "kubia-public", "10.96.0.20",
		corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP})
	headless := service("default", "kubia", "None", corev1.ServicePort{Name: "http", Port: 80})
	empty := service("default", "nothing", "10.96.0.30", corev1.ServicePort{Port: 8080, Protocol: corev1.ProtocolTCP})
	dns := service("kube-system", "kube-dns", "10.96.0.10",
		corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		corev1.ServicePort{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP})
	dns.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
	ext := service("default", "ext", "", corev1.ServicePort{Port: 80})
	ext.Spec.Type = corev1.ServiceTypeExternalName
	sctp := service("default", "sctp", "10.96.0.40", corev1.ServicePort{Name: "s", Port: 9, Protocol: corev1.ProtocolSCTP})

	httpPort := []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}}
	dnsPorts := []discoveryv1.EndpointPort{
		{Name: ptr.To("dns"), Port: ptr.To(int32(53)), Protocol: ptr.To(corev1.ProtocolUDP)},
		{Name: ptr.To("dns-tcp"), Port: ptr.To(int32(53)), Protocol: ptr.To(corev1.ProtocolTCP)},
	}
	slices := []*discoveryv1.EndpointSlice{
		slice("default", "kubia-public", "kubia-public-a", httpPort,
			ep("10.88.0.3", ptr.To(true), "n1"), ep("10.88.0.2", nil, "n1"), ep("10.88.0.4", ptr.To(false), "n1")),
		// A second slice repeating an address (during a slice handover) adds nothing.
		slice("default", "kubia-public", "kubia-public-b", httpPort, ep("10.88.0.2", ptr.To(true), "n1")),
		// A slice of another namespace's Service of the same name is not ours.
		slice("other", "kubia-public", "x", httpPort, ep("10.1.1.1", ptr.To(true), "n1")),
		slice("kube-system", "kube-dns", "kube-dns", dnsPorts, ep("10.88.0.1", ptr.To(true), "n1"), ep("10.89.0.1", ptr.To(true), "n2")),
	}
	got := Compute("n1", []*corev1.Service{web, headless, empty, dns, ext, sctp}, slices).String()
	want := strings.Join([]string{
		"ip daddr 10.96.0.20 tcp dport 80 meta mark set mark | 0x4000 # default/kubia-public:http",
		"ip daddr 10.96.0.20 tcp dport 80 numgen random mod 2 0 dnat to 10.88.0.2:8080",
		"ip daddr 10.96.0.20 tcp dport 80 dnat to 10.88.0.3:8080",
		"ip daddr 10.96.0.30 tcp dport 8080 reject # default/nothing:8080/TCP: no endpoints",
		"ip daddr 10.96.0.10 udp dport 53 meta mark set mark | 0x4000 # kube-system/kube-dns:dns",
		"ip daddr 10.96.0.10 udp dport 53 dnat to 10.88.0.1:53",
		"ip daddr 10.96.0.10 tcp dport 53 meta mark set mark | 0x4000 # kube-system/kube-dns:dns-tcp",
		"ip daddr 10.96.0.10 tcp dport 53 dnat to 10.88.0.1:53",
		"",
	}, "\n")
	if got != want {
		t.Errorf("rules:\n%s\nwant:\n%s", got, want)
	}
	// On node n2 the Local Service goes to n2's own DNS only.
	got = Compute("n2", []*corev1.Service{dns}, slices).String()
	if !strings.Contains(got, "udp dport 53 dnat to 10.89.0.1:53") || strings.Contains(got, "10.88.0.1") {
		t.Errorf("n2 rules:\n%s", got)
	}
	// Three endpoints: the statistic scheme 1/3, then 1/2, then the rest.
	three := slice("default", "kubia-public", "kubia-public-a", httpPort,
		ep("10.88.0.2", nil, ""), ep("10.88.0.3", nil, ""), ep("10.88.0.4", nil, ""))
	got = Compute("n1", []*corev1.Service{web}, []*discoveryv1.EndpointSlice{three}).String()
	for _, w := range []string{"numgen random mod 3 0 dnat to 10.88.0.2:8080", "numgen random mod 2 0 dnat to 10.88.0.3:8080", "tcp dport 80 dnat to 10.88.0.4:8080"} {
		if !strings.Contains(got, w) {
			t.Errorf("three endpoints: no %q in\n%s", w, got)
		}
	}
}
