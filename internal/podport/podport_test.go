package podport

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// pod has app containers "a" (http/TCP 8080, dns/UDP 53) and "b" (http/TCP
// 9090, dns/TCP 5353), an init container "i" (admin/TCP 7000) and a sidecar
// "s" (metrics/TCP 9100, http/TCP 9999).
func pod() *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{
			{Name: "i", Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: 7000, Protocol: corev1.ProtocolTCP}}},
			{Name: "s", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{
				{Name: "metrics", ContainerPort: 9100, Protocol: corev1.ProtocolTCP},
				{Name: "http", ContainerPort: 9999, Protocol: corev1.ProtocolTCP},
			}},
		},
		Containers: []corev1.Container{
			{Name: "a", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
			}},
			{Name: "b", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
				{Name: "dns", ContainerPort: 5353}, // protocol unset: TCP
			}},
		},
	}}
}

// The cases of upstream's TestFindPort (k8s.io/kubernetes/pkg/api/v1/pod)
// and the sidecar and protocol rules it has since 1.28.
func TestForService(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target intstr.IntOrString
		proto  corev1.Protocol
		port   int32
		want   int32
		err    bool
	}{
		{"number", intstr.FromInt32(8443), corev1.ProtocolTCP, 80, 8443, false},
		{"number not among the ports", intstr.FromInt32(1), corev1.ProtocolTCP, 80, 1, false},
		{"unset is the service port", intstr.IntOrString{}, corev1.ProtocolTCP, 80, 80, false},
		{"empty name is the service port", intstr.FromString(""), corev1.ProtocolTCP, 80, 80, false},
		{"name: first app container in order", intstr.FromString("http"), corev1.ProtocolTCP, 80, 8080, false},
		{"name with protocol: UDP", intstr.FromString("dns"), corev1.ProtocolUDP, 53, 53, false},
		{"name with protocol: TCP skips the UDP port", intstr.FromString("dns"), corev1.ProtocolTCP, 53, 5353, false},
		{"unset protocol is TCP", intstr.FromString("dns"), "", 53, 5353, false},
		{"sidecar port", intstr.FromString("metrics"), corev1.ProtocolTCP, 80, 9100, false},
		{"init container (not a sidecar) port", intstr.FromString("admin"), corev1.ProtocolTCP, 80, 0, true},
		{"protocol mismatch", intstr.FromString("metrics"), corev1.ProtocolUDP, 80, 0, true},
		{"unknown name", intstr.FromString("nope"), corev1.ProtocolTCP, 80, 0, true},
		{"numeric string is a name", intstr.FromString("8080"), corev1.ProtocolTCP, 80, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForService(pod(), &corev1.ServicePort{Port: tc.port, TargetPort: tc.target, Protocol: tc.proto})
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ForService = %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// Kubelet's probe and lifecycle-hook resolution (ResolveContainerPort):
// names among the container's own ports, then numeric strings; 1..65535.
func TestForContainer(t *testing.T) {
	ports := pod().Spec.Containers[0].Ports
	for _, tc := range []struct {
		name string
		ref  intstr.IntOrString
		want int
		err  bool
	}{
		{"number", intstr.FromInt32(8081), 8081, false},
		{"name", intstr.FromString("http"), 8080, false},
		{"name of any protocol", intstr.FromString("dns"), 53, false},
		{"numeric string", intstr.FromString("8082"), 8082, false},
		{"name of another container", intstr.FromString("metrics"), 0, true},
		{"zero", intstr.FromInt32(0), 0, true},
		{"too big", intstr.FromInt32(65536), 0, true},
		{"numeric string too big", intstr.FromString("70000"), 0, true},
		{"negative numeric string", intstr.FromString("-1"), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForContainer(tc.ref, ports)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ForContainer = %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestNamed(t *testing.T) {
	p := pod()
	if got, ok := Named(p, "http", corev1.ProtocolTCP); !ok || got != 8080 {
		t.Errorf("http/TCP = %d, %v; want 8080 (first app container)", got, ok)
	}
	if got, ok := Named(p, "metrics", ""); !ok || got != 9100 {
		t.Errorf("metrics = %d, %v; want 9100 (sidecar)", got, ok)
	}
	if _, ok := Named(p, "admin", corev1.ProtocolTCP); ok {
		t.Error("an init container's port resolved; only sidecars' count")
	}
}
