package integration

import (
	"context"
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
)

// hostAddress is a global unicast address of one of this host's
// interfaces, or "" if it has none.
func hostAddress(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestProxyRefusesNonProxyableIPs: a pod whose status claims a loopback,
// link-local, unspecified, multicast or this host's address, or its node's
// address, is not proxied to (kube's 400 "address not allowed"); neither is
// a service whose endpoints hold this host's address.
func TestProxyRefusesNonProxyableIPs(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{
		"loopback": "127.0.0.1", "loopback v6": "::1", "link-local": "169.254.169.254",
		"unspecified": "0.0.0.0", "multicast": "224.0.0.1", "the node's own": "10.20.30.40",
	}
	if h := hostAddress(t); h != "" {
		targets["this host's"] = h
	} else {
		t.Log("this host has no global unicast address; the host-address case is covered by the unit test")
	}
	for what, ip := range targets {
		t.Run(what, func(t *testing.T) {
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				p, err := pods.Get(ctx, "ghost", metav1.GetOptions{})
				if err != nil {
					return err
				}
				p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
				p.Status.HostIP, p.Status.HostIPs = "10.20.30.40", []corev1.HostIP{{IP: "10.20.30.40"}}
				_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = c.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/pods/ghost:2379/proxy/version").Do(ctx).Error()
			if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "address not allowed") {
				t.Fatalf("proxy to a pod at %s: want 400 address not allowed, got %v", ip, err)
			}
		})
	}

	h := hostAddress(t)
	if h == "" {
		return
	}
	if _, err := c.client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hostly"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(6443)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().Endpoints("default").Create(ctx, &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "hostly"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: h}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 6443}},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := c.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/services/hostly:http/proxy/").Do(ctx).Error()
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "address not allowed") {
		t.Fatalf("service proxy to this host's %s: want 400 address not allowed, got %v", h, err)
	}
}

// TestPodProxyNamedPort: pods/<name>:<port name>/proxy resolves the name as
// the endpoints controller does (podport): among TCP container ports, app
// containers first, then sidecars. Resolution comes before the address
// check, so a loopback pod IP tells a resolved name (400 address not
// allowed) from an unresolved one (400 no port named).
func TestPodProxyNamedPort(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("default")
	always := corev1.ContainerRestartPolicyAlways
	p, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "named"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "sidecar", Image: "busybox", RestartPolicy: &always,
				Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9100}}}},
			Containers: []corev1.Container{{Name: "c", Image: "busybox",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.PodIP, p.Status.PodIPs = "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}}
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for port, want := range map[string]string{
		"http":    "address not allowed",
		"metrics": "address not allowed", // a sidecar's port
		"dns":     `no port named "dns"`, // UDP: not reachable over HTTP
		"nope":    `no port named "nope"`,
	} {
		err := c.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/pods/named:" + port + "/proxy/").Do(ctx).Error()
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("pods/named:%s/proxy: want 400 %q, got %v", port, want, err)
		}
	}
}
