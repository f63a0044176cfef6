package clusterservice

import (
	"context"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"petset/internal/controller/runner"
)

// The kube-dns Service, as kubeadm's CoreDNS addon names it.
const (
	DNSName      = "kube-dns"
	DNSNamespace = metav1.NamespaceSystem
	// DNSAnnotation on a Node is the address its cluster DNS answers on
	// (port 53, UDP and TCP); the node's agent sets it.
	DNSAnnotation = "petset.io/cluster-dns"
)

// DNSService is the kube-dns Service with clusterIP (the service CIDR's
// tenth address): kubeadm's, except that it has no selector (the node
// agents answer, not pods) and internalTrafficPolicy Local (each node's
// proxy sends the address to the node's own DNS).
func DNSService(clusterIP string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: DNSName, Namespace: DNSNamespace, Labels: map[string]string{
			"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			ClusterIP:             clusterIP,
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyLocal),
			Ports:                 dnsServicePorts(),
		},
	}
}

func dnsServicePorts() []corev1.ServicePort {
	return []corev1.ServicePort{
		{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
		{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53},
	}
}

// DNSEndpoints keeps the kube-dns Endpoints and EndpointSlice listing each
// Node's announced DNS address with the node's name, ready when the Node
// is Ready.
type DNSEndpoints struct {
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	runner *runner.Runner[string]
}

// NewDNSEndpoints wires the controller to a Node informer. Its work has one
// key (the kube-dns Service), so it runs one worker.
func NewDNSEndpoints(client kubernetes.Interface, nodes coreinformers.NodeInformer) *DNSEndpoints {
	c := &DNSEndpoints{client: client, nodes: nodes.Lister()}
	c.runner = runner.New(runner.Config[string]{
		Name:        "kube-dns-endpoints",
		Workers:     1,
		Reconcile:   c.reconcile,
		Synced:      []cache.InformerSynced{nodes.Informer().HasSynced},
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
		LogAttrs:    func(string) []any { return nil },
	})
	c.runner.Enqueue(DNSName) // written once the cache has synced, nodes or not
	changed := func(any) { c.runner.Enqueue(DNSName) }
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: changed, DeleteFunc: changed,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Node)
			n, ok2 := cur.(*corev1.Node)
			if !ok1 || !ok2 || dnsEndpointOf(o) != dnsEndpointOf(n) {
				c.runner.Enqueue(DNSName)
			}
		},
	})
	return c
}

// Run writes the endpoints until ctx ends.
func (c *DNSEndpoints) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the cache has synced and the worker runs.
func (c *DNSEndpoints) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile writes the kube-dns endpoints from the Nodes in the cache.
func (c *DNSEndpoints) reconcile(ctx context.Context, _ string) (runner.Result, error) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return runner.Done, fmt.Errorf("list nodes: %w", err)
	}
	var eps []endpoint
	for _, n := range nodes {
		if e := dnsEndpointOf(n); e.IP != "" {
			eps = append(eps, e)
		}
	}
	ports := []corev1.EndpointPort{
		{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
	}
	if err := writeEndpoints(ctx, c.client, DNSNamespace, DNSName, ports, eps); err != nil {
		return runner.Done, fmt.Errorf("writing the kube-dns endpoints: %w", err)
	}
	return runner.Done, nil
}

// dnsEndpointOf is the node's announced DNS endpoint (IP "" for none).
func dnsEndpointOf(n *corev1.Node) endpoint {
	ip := net.ParseIP(n.Annotations[DNSAnnotation])
	if ip == nil || ip.To4() == nil || n.DeletionTimestamp != nil {
		return endpoint{}
	}
	ready := false
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			ready = cond.Status == corev1.ConditionTrue
		}
	}
	return endpoint{IP: ip.String(), NodeName: n.Name, Ready: ready}
}
