package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"petset/internal/controlplane"
)

// TestKubernetesService runs two API servers on one etcd, each advertising
// an address: the kubernetes Service exists with kube's shape, and its
// Endpoints and EndpointSlice list the live servers (lease reconciler): both
// while both run, the first alone once the second stopped.
func TestKubernetesService(t *testing.T) {
	ctx := context.Background()
	url, creds := startExternalEtcd(t)
	a := startClusterWith(t, controlplane.Config{EtcdEndpoints: []string{url}, EtcdTLS: creds,
		ServiceCIDR: "10.97.0.0/16", AdvertiseAddress: "192.0.2.10", AdvertisePort: 6443})

	svc, err := a.client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.97.0.1" || len(svc.Spec.Ports) != 1 || svc.Spec.Selector != nil {
		t.Fatalf("kubernetes service: clusterIP %s ports %v selector %v", svc.Spec.ClusterIP, svc.Spec.Ports, svc.Spec.Selector)
	}
	if p := svc.Spec.Ports[0]; p.Name != "https" || p.Port != 443 || p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(6443) {
		t.Fatalf("kubernetes service port: %+v", p)
	}
	if svc.Labels["component"] != "apiserver" || svc.Labels["provider"] != "kubernetes" {
		t.Fatalf("kubernetes service labels: %v", svc.Labels)
	}

	endpointsOf := func(c *cluster) (string, error) {
		ep, err := c.client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		var got []string
		for _, s := range ep.Subsets {
			for _, a := range s.Addresses {
				for _, p := range s.Ports {
					got = append(got, fmt.Sprintf("%s:%d/%s", a.IP, p.Port, p.Name))
				}
			}
		}
		sl, err := c.client.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if sl.Labels[discoveryv1.LabelServiceName] != "kubernetes" {
			return "", fmt.Errorf("slice labels %v", sl.Labels)
		}
		var fromSlice []string
		for _, e := range sl.Endpoints {
			for _, p := range sl.Ports {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					fromSlice = append(fromSlice, fmt.Sprintf("%s:%d/%s", e.Addresses[0], *p.Port, *p.Name))
				}
			}
		}
		sort.Strings(got)
		sort.Strings(fromSlice)
		if strings.Join(got, ",") != strings.Join(fromSlice, ",") {
			return "", fmt.Errorf("endpoints %v and slice %v differ", got, fromSlice)
		}
		return strings.Join(got, ","), nil
	}
	waitEndpoints := func(want string) {
		t.Helper()
		var last string
		eventually(t, "kubernetes endpoints "+want, func() (bool, error) {
			got, err := endpointsOf(a)
			last = got
			return got == want, fmt.Errorf("have %q: %v", last, err)
		})
	}
	waitEndpoints("192.0.2.10:6443/https")

	b := startClusterWith(t, controlplane.Config{EtcdEndpoints: []string{url}, EtcdTLS: creds,
		ServiceCIDR: "10.97.0.0/16", AdvertiseAddress: "192.0.2.11", AdvertisePort: 6443})
	waitEndpoints("192.0.2.10:6443/https,192.0.2.11:6443/https")
	b.stop()
	waitEndpoints("192.0.2.10:6443/https")
}

// TestKubeDNSService: kube-dns exists in kube-system as kubeadm names it,
// at the tenth address of the range, and its endpoints are the DNS
// addresses the Nodes announce, with their node names, ready with the node.
func TestKubeDNSService(t *testing.T) {
	ctx := context.Background()
	c := startClusterWith(t, controlplane.Config{ServiceCIDR: "10.98.0.0/16"})
	svc, err := c.client.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d/%s", p.Name, p.Port, p.Protocol))
	}
	if svc.Spec.ClusterIP != "10.98.0.10" || strings.Join(ports, ",") != "dns:53/UDP,dns-tcp:53/TCP" || svc.Labels["k8s-app"] != "kube-dns" {
		t.Fatalf("kube-dns: clusterIP %s ports %v labels %v", svc.Spec.ClusterIP, ports, svc.Labels)
	}
	if p := svc.Spec.InternalTrafficPolicy; p == nil || *p != corev1.ServiceInternalTrafficPolicyLocal {
		t.Fatalf("kube-dns internalTrafficPolicy %v, want Local (each node answers)", p)
	}

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{"petset.io/cluster-dns": "10.88.7.1"}}}
	node, err = c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slice := func() (string, error) {
		sl, err := c.client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		var got []string
		for _, e := range sl.Endpoints {
			got = append(got, fmt.Sprintf("%s@%s ready=%v", e.Addresses[0], ptrString(e.NodeName), *e.Conditions.Ready))
		}
		return strings.Join(got, ","), nil
	}
	eventually(t, "kube-dns endpoint of n1, not ready", func() (bool, error) {
		got, err := slice()
		return got == "10.88.7.1@n1 ready=false", fmt.Errorf("have %q: %v", got, err)
	})
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "kube-dns endpoint of n1, ready", func() (bool, error) {
		got, err := slice()
		return got == "10.88.7.1@n1 ready=true", fmt.Errorf("have %q: %v", got, err)
	})
	eventually(t, "kube-dns Endpoints", func() (bool, error) {
		ep, err := c.client.CoreV1().Endpoints("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1 && ep.Subsets[0].Addresses[0].IP == "10.88.7.1" &&
			len(ep.Subsets[0].Ports) == 2, fmt.Errorf("have %+v", ep.Subsets)
	})
	if err := c.client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "kube-dns endpoint gone with the node", func() (bool, error) {
		got, err := slice()
		return got == "" && err == nil, fmt.Errorf("have %q: %v", got, err)
	})
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
