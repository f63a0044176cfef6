package endpointslice

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

const ns = "default"

func startController(t *testing.T) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(ctx, client, f.Core().V1().Services(), f.Core().V1().Pods(), f.Discovery().V1().EndpointSlices(), f.Core().V1().Endpoints(), 2)
	f.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		f.Shutdown()
	})
	select {
	case <-c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("controller never became ready")
	}
	// The fake clientset only tells watchers about changes made after they
	// registered: wait for the four watches before creating objects.
	waitFor(t, "informers watching", func() bool {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "watch" {
				n++
			}
		}
		return n >= 4
	})
	return client
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func headless(name string, publish bool, ports ...v1.ServicePort) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("svc-" + name), Labels: map[string]string{"app": "nginx"}, CreationTimestamp: metav1.Now()},
		Spec: v1.ServiceSpec{
			ClusterIP: v1.ClusterIPNone, Selector: map[string]string{"app": "nginx"},
			Ports: ports, PublishNotReadyAddresses: publish,
		},
	}
}

type podOpt func(*v1.Pod)

func ready(b bool) podOpt {
	return func(p *v1.Pod) {
		st := v1.ConditionFalse
		if b {
			st = v1.ConditionTrue
		}
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: st}}
	}
}

func ip(addr string) podOpt {
	return func(p *v1.Pod) {
		p.Status.PodIP = addr
		p.Status.PodIPs = []v1.PodIP{{IP: addr}}
	}
}

func subdomain(s string) podOpt { return func(p *v1.Pod) { p.Spec.Subdomain = s } }

func containerPort(name string, port int32) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{Name: name, ContainerPort: port, Protocol: v1.ProtocolTCP})
	}
}

func newPod(name string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "nginx"}},
		Spec: v1.PodSpec{
			Hostname: name, NodeName: "node-1",
			Containers: []v1.Container{{Name: "nginx", Image: "nginx"}},
		},
		Status: v1.PodStatus{Phase: v1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func mustCreate(t *testing.T, client *fake.Clientset, objs ...any) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.Service:
			_, err = client.CoreV1().Services(ns).Create(ctx, o, metav1.CreateOptions{})
		case *v1.Pod:
			_, err = client.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func updatePod(t *testing.T, client *fake.Clientset, p *v1.Pod) {
	t.Helper()
	if _, err := client.CoreV1().Pods(ns).Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getEndpoints(client *fake.Clientset, name string) (*v1.Endpoints, error) {
	return client.CoreV1().Endpoints(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func slicesOf(t *testing.T, client *fake.Clientset, svc string) []discovery.EndpointSlice {
	t.Helper()
	l, err := client.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: LabelServiceName + "=" + svc})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// summary renders Endpoints as "ready:[ip/host/node ...] notready:[...] ports:[...]".
func summary(ep *v1.Endpoints) string {
	s := ""
	for _, ss := range ep.Subsets {
		s += "ready:["
		for _, a := range ss.Addresses {
			s += fmt.Sprintf("%s/%s/%s/%s ", a.IP, a.Hostname, ptrOr(a.NodeName, ""), a.TargetRef.Name)
		}
		s += "] notready:["
		for _, a := range ss.NotReadyAddresses {
			s += fmt.Sprintf("%s/%s/%s/%s ", a.IP, a.Hostname, ptrOr(a.NodeName, ""), a.TargetRef.Name)
		}
		s += "] ports:["
		for _, p := range ss.Ports {
			s += fmt.Sprintf("%s/%d/%s ", p.Name, p.Port, p.Protocol)
		}
		s += "];"
	}
	return s
}

// endpointsBecome waits until the Endpoints summary equals want.
func endpointsBecome(t *testing.T, client *fake.Clientset, name, want string) {
	t.Helper()
	var got string
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		ep, err := getEndpoints(client, name)
		if err != nil {
			return false, nil
		}
		got = summary(ep)
		return got == want, nil
	})
	if err != nil {
		t.Fatalf("endpoints %s:\n got  %s\n want %s", name, got, want)
	}
}

// sliceEndpoints renders the endpoints of the Service's slices as
// "name:ip/host/node/ready/serving/terminating" in name order.
func sliceEndpoints(slices []discovery.EndpointSlice) string {
	s := ""
	for _, sl := range slices {
		for _, e := range sl.Endpoints {
			s += fmt.Sprintf("%s:%s/%s/%s/%v/%v/%v ", e.TargetRef.Name, e.Addresses[0], ptrOr(e.Hostname, ""), ptrOr(e.NodeName, ""),
				ptrOr(e.Conditions.Ready, false), ptrOr(e.Conditions.Serving, false), ptrOr(e.Conditions.Terminating, false))
		}
	}
	return s
}

func slicesBecome(t *testing.T, client *fake.Clientset, svc, want string) []discovery.EndpointSlice {
	t.Helper()
	var got string
	var slices []discovery.EndpointSlice
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		slices = slicesOf(t, client, svc)
		got = sliceEndpoints(slices)
		return got == want, nil
	})
	if err != nil {
		t.Fatalf("slices of %s:\n got  %s\n want %s", svc, got, want)
	}
	return slices
}

func TestHeadlessServiceHostnamesAndReadiness(t *testing.T) {
	client := startController(t)
	port := v1.ServicePort{Name: "web", Port: 80, TargetPort: intstr.FromInt32(80), Protocol: v1.ProtocolTCP}
	mustCreate(t, client,
		headless("nginx", false, port),
		newPod("web-0", ip("10.1.0.10"), ready(true), subdomain("nginx")),
		newPod("web-1", ip("10.1.0.11"), ready(false), subdomain("nginx")),
		newPod("web-2", ready(false), subdomain("nginx")),                 // no IP yet: skipped
		newPod("stray", ip("10.1.0.12"), ready(true), subdomain("other")), // other subdomain: no hostname
	)
	endpointsBecome(t, client, "nginx",
		"ready:[10.1.0.10/web-0/node-1/web-0 10.1.0.12//node-1/stray ] notready:[10.1.0.11/web-1/node-1/web-1 ] ports:[web/80/TCP ];")
	slicesBecome(t, client, "nginx",
		"stray:10.1.0.12//node-1/true/true/false web-0:10.1.0.10/web-0/node-1/true/true/false web-1:10.1.0.11/web-1/node-1/false/false/false ")
	var slices []discovery.EndpointSlice
	waitFor(t, "one slice", func() bool {
		slices = slicesOf(t, client, "nginx")
		return len(slices) == 1
	})
	s := slices[0]
	if s.AddressType != discovery.AddressTypeIPv4 {
		t.Errorf("addressType %q", s.AddressType)
	}
	if s.Labels[LabelManagedBy] != ManagedBy || s.Labels[LabelServiceName] != "nginx" || s.Labels["app"] != "nginx" {
		t.Errorf("labels %v", s.Labels)
	}
	if _, ok := s.Labels[LabelHeadless]; !ok {
		t.Errorf("headless label missing: %v", s.Labels)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].UID != "svc-nginx" ||
		!ptrOr(s.OwnerReferences[0].Controller, false) || !ptrOr(s.OwnerReferences[0].BlockOwnerDeletion, false) {
		t.Errorf("ownerReferences %+v", s.OwnerReferences)
	}
	if len(s.Ports) != 1 || *s.Ports[0].Name != "web" || *s.Ports[0].Port != 80 || *s.Ports[0].Protocol != v1.ProtocolTCP {
		t.Errorf("ports %+v", s.Ports)
	}
	if s.Endpoints[1].TargetRef == nil || s.Endpoints[1].TargetRef.Kind != "Pod" || s.Endpoints[1].TargetRef.UID != "uid-web-0" {
		t.Errorf("targetRef %+v", s.Endpoints[1].TargetRef)
	}
	ep, err := getEndpoints(client, "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ep.Annotations[AnnotationTriggered]; !ok {
		t.Errorf("endpoints lack %s: %v", AnnotationTriggered, ep.Annotations)
	}
	if ep.Labels[LabelSkipMirror] != "true" {
		t.Errorf("endpoints labels %v", ep.Labels)
	}

	// web-1 becomes ready, web-2 gets an IP.
	p1 := newPod("web-1", ip("10.1.0.11"), ready(true), subdomain("nginx"))
	updatePod(t, client, p1)
	updatePod(t, client, newPod("web-2", ip("10.1.0.13"), ready(false), subdomain("nginx")))
	endpointsBecome(t, client, "nginx",
		"ready:[10.1.0.10/web-0/node-1/web-0 10.1.0.11/web-1/node-1/web-1 10.1.0.12//node-1/stray ] notready:[10.1.0.13/web-2/node-1/web-2 ] ports:[web/80/TCP ];")

	// web-0 starts terminating: gone from Endpoints, terminating in the slice.
	p0 := newPod("web-0", ip("10.1.0.10"), ready(true), subdomain("nginx"))
	now := metav1.Now()
	p0.DeletionTimestamp = &now
	updatePod(t, client, p0)
	endpointsBecome(t, client, "nginx",
		"ready:[10.1.0.11/web-1/node-1/web-1 10.1.0.12//node-1/stray ] notready:[10.1.0.13/web-2/node-1/web-2 ] ports:[web/80/TCP ];")
	slicesBecome(t, client, "nginx",
		"stray:10.1.0.12//node-1/true/true/false web-0:10.1.0.10/web-0/node-1/false/true/true web-1:10.1.0.11/web-1/node-1/true/true/false web-2:10.1.0.13/web-2/node-1/false/false/false ")

	// A pod that leaves the selector disappears.
	stray := newPod("stray", ip("10.1.0.12"), ready(true), subdomain("other"))
	stray.Labels = map[string]string{"app": "else"}
	updatePod(t, client, stray)
	slicesBecome(t, client, "nginx",
		"web-0:10.1.0.10/web-0/node-1/false/true/true web-1:10.1.0.11/web-1/node-1/true/true/false web-2:10.1.0.13/web-2/node-1/false/false/false ")

	// Deleting the Service removes its Endpoints and slices.
	if err := client.CoreV1().Services(ns).Delete(context.Background(), "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "endpoints and slices removed", func() bool {
		_, err := getEndpoints(client, "nginx")
		return apierrors.IsNotFound(err) && len(slicesOf(t, client, "nginx")) == 0
	})
}

func TestPublishNotReadyAddresses(t *testing.T) {
	client := startController(t)
	mustCreate(t, client,
		headless("kubia", true, v1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}),
		newPod("kubia-0", ip("10.1.0.20"), ready(false), subdomain("kubia")),
		newPod("kubia-1", ip("10.1.0.21"), ready(true), subdomain("kubia")),
	)
	endpointsBecome(t, client, "kubia",
		"ready:[10.1.0.20/kubia-0/node-1/kubia-0 10.1.0.21/kubia-1/node-1/kubia-1 ] notready:[] ports:[http/8080/TCP ];")
	slicesBecome(t, client, "kubia",
		"kubia-0:10.1.0.20/kubia-0/node-1/true/false/false kubia-1:10.1.0.21/kubia-1/node-1/true/true/false ")

	// A terminating pod stays listed (as ready) when not-ready addresses
	// are published.
	p := newPod("kubia-1", ip("10.1.0.21"), ready(true), subdomain("kubia"))
	now := metav1.Now()
	p.DeletionTimestamp = &now
	updatePod(t, client, p)
	slicesBecome(t, client, "kubia",
		"kubia-0:10.1.0.20/kubia-0/node-1/true/false/false kubia-1:10.1.0.21/kubia-1/node-1/true/true/true ")
	endpointsBecome(t, client, "kubia",
		"ready:[10.1.0.20/kubia-0/node-1/kubia-0 10.1.0.21/kubia-1/node-1/kubia-1 ] notready:[] ports:[http/8080/TCP ];")
}

func TestNamedTargetPortAndPortlessHeadless(t *testing.T) {
	client := startController(t)
	svc := headless("named", false, v1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("web"), Protocol: v1.ProtocolTCP})
	svc.Spec.ClusterIP = "10.96.0.5"
	portless := headless("bare", false)
	portless.Spec.Selector = map[string]string{"app": "nginx"}
	mustCreate(t, client, svc, portless,
		newPod("a", ip("10.1.0.30"), ready(true), containerPort("web", 8080)),
		newPod("b", ip("10.1.0.31"), ready(true)), // lacks the named port
	)
	endpointsBecome(t, client, "named", "ready:[10.1.0.30//node-1/a ] notready:[] ports:[http/8080/TCP ];")
	var slices []discovery.EndpointSlice
	waitFor(t, "slices for both port sets", func() bool {
		slices = slicesOf(t, client, "named")
		return len(slices) == 2
	})
	ports := map[string]int{}
	for _, s := range slices {
		if len(s.Ports) == 0 {
			ports["none"] = len(s.Endpoints)
		} else {
			ports[fmt.Sprintf("%d", *s.Ports[0].Port)] = len(s.Endpoints)
		}
		if _, ok := s.Labels[LabelHeadless]; ok {
			t.Errorf("non-headless service slice has headless label")
		}
	}
	if ports["8080"] != 1 || ports["none"] != 1 {
		t.Errorf("endpoints per port set: %v", ports)
	}
	endpointsBecome(t, client, "bare", "ready:[10.1.0.30//node-1/a 10.1.0.31//node-1/b ] notready:[] ports:[];")
}

func TestServiceWithoutSelectorIsLeftAlone(t *testing.T) {
	client := startController(t)
	svc := headless("manual", false)
	svc.Spec.Selector = nil
	mustCreate(t, client, svc, newPod("x", ip("10.1.0.40"), ready(true)))
	// A selector service created afterwards is handled, so the controller
	// has certainly processed the earlier one by then.
	mustCreate(t, client, headless("after", false))
	endpointsBecome(t, client, "after", "ready:[10.1.0.40//node-1/x ] notready:[] ports:[];")
	if _, err := getEndpoints(client, "manual"); !apierrors.IsNotFound(err) {
		t.Errorf("endpoints for a selector-less service: %v", err)
	}
	if n := len(slicesOf(t, client, "manual")); n != 0 {
		t.Errorf("%d slices for a selector-less service", n)
	}
}

func TestEmptyServiceGetsPlaceholderSlice(t *testing.T) {
	client := startController(t)
	mustCreate(t, client, headless("empty", false, v1.ServicePort{Name: "web", Port: 80}))
	waitFor(t, "placeholder slice", func() bool {
		s := slicesOf(t, client, "empty")
		return len(s) == 1 && len(s[0].Endpoints) == 0
	})
	endpointsBecome(t, client, "empty", "")
	mustCreate(t, client, newPod("p", ip("10.1.0.50"), ready(true)))
	slicesBecome(t, client, "empty", "p:10.1.0.50//node-1/true/true/false ")
	waitFor(t, "placeholder replaced", func() bool { return len(slicesOf(t, client, "empty")) == 1 })
}

// More pods than fit one slice are spread over several slices, each within
// the limit, together listing every pod once.
func TestLargeServiceIsSplitIntoSlices(t *testing.T) {
	client := startController(t)
	mustCreate(t, client, headless("big", false, v1.ServicePort{Name: "web", Port: 80}))
	const n = MaxEndpointsPerSlice + 30
	for i := range n {
		mustCreate(t, client, newPod(fmt.Sprintf("p-%03d", i), ip(fmt.Sprintf("10.2.%d.%d", i/200, i%200+1)), ready(true)))
	}
	waitFor(t, "all pods in slices", func() bool {
		seen := map[string]int{}
		slices := slicesOf(t, client, "big")
		for _, s := range slices {
			if len(s.Endpoints) > MaxEndpointsPerSlice {
				return false
			}
			for _, e := range s.Endpoints {
				seen[e.TargetRef.Name]++
			}
		}
		if len(seen) != n || len(slices) != 2 {
			return false
		}
		for _, c := range seen {
			if c != 1 {
				return false
			}
		}
		return true
	})
}
