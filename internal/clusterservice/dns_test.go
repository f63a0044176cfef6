package clusterservice

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDNSEndpointOf(t *testing.T) {
	now := metav1.Now()
	ready := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	for _, tc := range []struct {
		name string
		node corev1.Node
		want endpoint
	}{
		{"announced, ready", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{DNSAnnotation: "10.88.0.1"}},
			Status: corev1.NodeStatus{Conditions: ready}}, endpoint{IP: "10.88.0.1", NodeName: "a", Ready: true}},
		{"announced, not ready", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{DNSAnnotation: "10.88.0.1"}}},
			endpoint{IP: "10.88.0.1", NodeName: "a"}},
		{"simulated node: no DNS", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "sim-0"}, Status: corev1.NodeStatus{Conditions: ready}}, endpoint{}},
		{"not an address", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{DNSAnnotation: "gw"}}}, endpoint{}},
		{"IPv6 (slices are IPv4)", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{DNSAnnotation: "fd00::1"}}}, endpoint{}},
		{"being deleted", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", DeletionTimestamp: &now, Annotations: map[string]string{DNSAnnotation: "10.88.0.1"}}}, endpoint{}},
	} {
		if got := dnsEndpointOf(&tc.node); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
