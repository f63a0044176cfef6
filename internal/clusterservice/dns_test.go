package clusterservice

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
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

// TestDNSEndpointsRun: once the cache has synced the kube-dns Endpoints are
// written, and a node announcing its DNS later is added to them.
func TestDNSEndpointsRun(t *testing.T) {
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	c := NewDNSEndpoints(client, f.Core().V1().Nodes())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
		f.Shutdown()
	})
	f.Start(ctx.Done())
	go func() { stopped <- c.Run(ctx) }()
	<-c.Ready()
	addresses := func() []corev1.EndpointAddress {
		ep, err := client.CoreV1().Endpoints(DNSNamespace).Get(ctx, DNSName, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		var all []corev1.EndpointAddress
		for _, s := range ep.Subsets {
			all = append(append(all, s.Addresses...), s.NotReadyAddresses...)
		}
		return all
	}
	waitFor(t, "empty kube-dns endpoints", func() bool {
		_, err := client.CoreV1().Endpoints(DNSNamespace).Get(ctx, DNSName, metav1.GetOptions{})
		return err == nil
	})
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{DNSAnnotation: "10.88.0.1"}}}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1's DNS address", func() bool {
		a := addresses()
		return len(a) == 1 && a[0].IP == "10.88.0.1" && a[0].NodeName != nil && *a[0].NodeName == "n1"
	})
}

// waitFor polls cond until it holds (a minute at most: the bound only ends
// a hung test).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
