package endpointslice

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"petset/internal/logging"
	"petset/internal/podport"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deleteOptions() metav1.DeleteOptions { return metav1.DeleteOptions{} }

// listable reports whether a pod appears at all: it has an IPv4 address, is
// not terminal, and (unless includeTerminating) is not being deleted.
func listable(p *v1.Pod, includeTerminating bool) bool {
	if p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded {
		return false
	}
	if podIPv4(p) == "" {
		return false
	}
	return includeTerminating || p.DeletionTimestamp == nil
}

func podIPv4(p *v1.Pod) string {
	for _, ip := range p.Status.PodIPs {
		if parsed := net.ParseIP(ip.IP); parsed != nil && parsed.To4() != nil {
			return ip.IP
		}
	}
	if parsed := net.ParseIP(p.Status.PodIP); parsed != nil && parsed.To4() != nil {
		return p.Status.PodIP
	}
	return ""
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// hostnameFor returns the hostname published for a pod: its spec.hostname
// when its spec.subdomain names the Service.
func hostnameFor(p *v1.Pod, svc *v1.Service) string {
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name && p.Namespace == svc.Namespace {
		return p.Spec.Hostname
	}
	return ""
}

func protocolOf(p v1.Protocol) v1.Protocol {
	if p == "" {
		return v1.ProtocolTCP
	}
	return p
}

func targetRef(p *v1.Pod) *v1.ObjectReference {
	return &v1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

// desiredSubsets computes the Endpoints subsets for a Service: addresses
// grouped by identical port sets, ready ones in addresses, the others in
// notReadyAddresses.
func desiredSubsets(svc *v1.Service, pods []*v1.Pod) []v1.EndpointSubset {
	publish := svc.Spec.PublishNotReadyAddresses
	type group struct {
		ports    []v1.EndpointPort
		ready    []v1.EndpointAddress
		notReady []v1.EndpointAddress
	}
	groups := map[string]*group{}
	for _, p := range pods {
		if !listable(p, publish) {
			continue
		}
		addr := v1.EndpointAddress{IP: podIPv4(p), Hostname: hostnameFor(p, svc), TargetRef: targetRef(p)}
		if p.Spec.NodeName != "" {
			n := p.Spec.NodeName
			addr.NodeName = &n
		}
		var ports []v1.EndpointPort
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP != v1.ClusterIPNone {
				continue
			}
		} else {
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				port, err := podport.ForService(p, sp)
				if err != nil {
					continue
				}
				ports = append(ports, v1.EndpointPort{Name: sp.Name, Port: port, Protocol: protocolOf(sp.Protocol), AppProtocol: sp.AppProtocol})
			}
			if len(ports) == 0 {
				continue
			}
		}
		sortEndpointPorts(ports)
		k := endpointPortsKey(ports)
		g := groups[k]
		if g == nil {
			g = &group{ports: ports}
			groups[k] = g
		}
		if publish || podReady(p) {
			g.ready = append(g.ready, addr)
		} else {
			g.notReady = append(g.notReady, addr)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	subsets := []v1.EndpointSubset{}
	for _, k := range keys {
		g := groups[k]
		sortAddresses(g.ready)
		sortAddresses(g.notReady)
		subsets = append(subsets, v1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return subsets
}

func sortEndpointPorts(ports []v1.EndpointPort) {
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].Name != ports[j].Name {
			return ports[i].Name < ports[j].Name
		}
		return ports[i].Port < ports[j].Port
	})
}

func endpointPortsKey(ports []v1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s/%s;", p.Name, p.Port, p.Protocol, ptrOr(p.AppProtocol, ""))
	}
	return b.String()
}

func sortAddresses(addrs []v1.EndpointAddress) {
	sort.Slice(addrs, func(i, j int) bool {
		if addrs[i].IP != addrs[j].IP {
			return addrs[i].IP < addrs[j].IP
		}
		return addrs[i].TargetRef.UID < addrs[j].TargetRef.UID
	})
}

// serviceLabels are the labels the Endpoints and slices of a Service carry:
// the Service's own labels plus the headless marker.
func serviceLabels(svc *v1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		out[k] = v
	}
	if svc.Spec.ClusterIP == v1.ClusterIPNone {
		out[LabelHeadless] = ""
	} else {
		delete(out, LabelHeadless)
	}
	return out
}

// syncEndpoints creates or updates the Service's Endpoints object.
func (c *Controller) syncEndpoints(ctx context.Context, svc *v1.Service, pods []*v1.Pod, trigger time.Time) error {
	subsets := desiredSubsets(svc, pods)
	lbls := serviceLabels(svc)
	lbls[LabelSkipMirror] = "true"

	current, err := c.endpoints.Endpoints(svc.Namespace).Get(svc.Name)
	create := apierrors.IsNotFound(err)
	if err != nil && !create {
		return fmt.Errorf("get endpoints: %w", err)
	}
	if !create && apiequality.Semantic.DeepEqual(normalizeSubsets(current.Subsets), subsets) && apiequality.Semantic.DeepEqual(current.Labels, lbls) {
		return nil
	}
	ep := &v1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	if !create {
		ep = current.DeepCopy()
	}
	ep.Subsets = subsets
	ep.Labels = lbls
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if !trigger.IsZero() {
		ep.Annotations[AnnotationTriggered] = trigger.UTC().Format(time.RFC3339Nano)
	}
	if create {
		_, err = c.client.CoreV1().Endpoints(svc.Namespace).Create(ctx, ep, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// The cache is behind; the next event brings us back.
			return fmt.Errorf("create endpoints: %w", err)
		}
	} else {
		_, err = c.client.CoreV1().Endpoints(svc.Namespace).Update(ctx, ep, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	logging.FromContext(ctx).Debug("endpoints written", "subsets", len(subsets), "created", create)
	return nil
}

// normalizeSubsets maps a stored object's subsets to the form desiredSubsets
// produces, so that a round trip through the API server compares equal.
func normalizeSubsets(in []v1.EndpointSubset) []v1.EndpointSubset {
	out := []v1.EndpointSubset{}
	for _, s := range in {
		s = *s.DeepCopy()
		if len(s.Addresses) == 0 {
			s.Addresses = nil
		}
		if len(s.NotReadyAddresses) == 0 {
			s.NotReadyAddresses = nil
		}
		if len(s.Ports) == 0 {
			s.Ports = nil
		}
		out = append(out, s)
	}
	return out
}
