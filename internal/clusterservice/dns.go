package clusterservice

import (
	"context"
	"log/slog"
	"net"
	"sync"
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
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	log    *slog.Logger
}

// NewDNSEndpoints wires the controller to a Node informer.
func NewDNSEndpoints(client kubernetes.Interface, nodes coreinformers.NodeInformer) *DNSEndpoints {
	c := &DNSEndpoints{
		client: client, nodes: nodes.Lister(), synced: nodes.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "kube_dns_endpoints"}),
		log: slog.Default().With("controller", "kube-dns-endpoints"),
	}
	changed := func(any) { c.queue.Add(DNSName) }
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: changed, DeleteFunc: changed,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Node)
			n, ok2 := cur.(*corev1.Node)
			if !ok1 || !ok2 || dnsEndpointOf(o) != dnsEndpointOf(n) {
				c.queue.Add(DNSName)
			}
		},
	})
	return c
}

// Run syncs until ctx ends.
func (c *DNSEndpoints) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.queue.Add(DNSName)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for c.next(ctx) {
		}
	}()
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *DNSEndpoints) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx); err != nil {
		if ctx.Err() == nil {
			c.log.Error("writing the kube-dns endpoints", "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *DNSEndpoints) sync(ctx context.Context) error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
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
	return writeEndpoints(ctx, c.client, DNSNamespace, DNSName, ports, eps)
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
