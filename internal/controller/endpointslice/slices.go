package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"petset/internal/logging"
	"petset/internal/podport"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// sliceGroup is a set of endpoints sharing one port list; it becomes one or
// more slices of at most MaxEndpointsPerSlice endpoints.
type sliceGroup struct {
	key       string
	ports     []discovery.EndpointPort
	endpoints []discovery.Endpoint
}

// desiredSliceGroups computes the endpoints of a Service for its slices,
// grouped by port list (groups and endpoints in a stable order).
func desiredSliceGroups(svc *v1.Service, pods []*v1.Pod) []sliceGroup {
	groups := map[string]*sliceGroup{}
	for _, p := range pods {
		if !listable(p, true) {
			continue
		}
		ports := []discovery.EndpointPort{}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, err := podport.ForService(p, sp)
			if err != nil {
				continue
			}
			name, proto := sp.Name, protocolOf(sp.Protocol)
			ports = append(ports, discovery.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
		}
		sortSlicePorts(ports)
		k := slicePortsKey(ports)
		g := groups[k]
		if g == nil {
			g = &sliceGroup{key: k, ports: ports}
			groups[k] = g
		}
		g.endpoints = append(g.endpoints, podEndpoint(p, svc))
	}
	out := make([]sliceGroup, 0, len(groups))
	for _, g := range groups {
		sort.Slice(g.endpoints, func(i, j int) bool {
			return g.endpoints[i].TargetRef.Name < g.endpoints[j].TargetRef.Name
		})
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// podEndpoint is one pod as a slice endpoint. Ready is never true for a
// terminating pod unless the Service publishes not-ready addresses.
func podEndpoint(p *v1.Pod, svc *v1.Service) discovery.Endpoint {
	serving := podReady(p)
	terminating := p.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discovery.Endpoint{
		Addresses:  []string{podIPv4(p)},
		Conditions: discovery.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  targetRef(p),
	}
	if p.Spec.NodeName != "" {
		n := p.Spec.NodeName
		ep.NodeName = &n
	}
	if h := hostnameFor(p, svc); h != "" {
		ep.Hostname = &h
	}
	return ep
}

func sortSlicePorts(ports []discovery.EndpointPort) {
	sort.Slice(ports, func(i, j int) bool {
		if *ports[i].Name != *ports[j].Name {
			return *ports[i].Name < *ports[j].Name
		}
		return *ports[i].Port < *ports[j].Port
	})
}

func slicePortsKey(ports []discovery.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s/%s;", ptrOr(p.Name, ""), ptrOr(p.Port, 0), ptrOr(p.Protocol, v1.ProtocolTCP), ptrOr(p.AppProtocol, ""))
	}
	return b.String()
}

// syncSlices makes the managed slices of a Service hold exactly the desired
// endpoints: existing slices with the right port list are reused in name
// order, missing ones created, extra ones deleted. A Service without
// endpoints keeps one empty placeholder slice, as upstream does.
func (c *Controller) syncSlices(ctx context.Context, svc *v1.Service, pods []*v1.Pod, trigger time.Time) error {
	existing, err := c.managedSlices(svc.Namespace, svc.Name)
	if err != nil {
		return err
	}
	var errs []error
	// Slices of another incarnation of the Service, or of another address
	// type, are not reused.
	byKey := map[string][]*discovery.EndpointSlice{}
	var extra []*discovery.EndpointSlice
	for _, s := range existing {
		if !ownedBy(s, svc) || s.AddressType != discovery.AddressTypeIPv4 {
			extra = append(extra, s)
			continue
		}
		k := slicePortsKey(s.Ports)
		byKey[k] = append(byKey[k], s)
	}
	for k := range byKey {
		sort.Slice(byKey[k], func(i, j int) bool { return byKey[k][i].Name < byKey[k][j].Name })
	}

	groups := desiredSliceGroups(svc, pods)
	if len(groups) == 0 {
		groups = []sliceGroup{{key: slicePortsKey(nil)}}
	}
	// Slices already holding a group's port list are kept for that group;
	// the others (e.g. the empty placeholder) are reused for chunks that
	// would otherwise need a new slice, and deleted when left over.
	type write struct {
		cur   *discovery.EndpointSlice
		ports []discovery.EndpointPort
		eps   []discovery.Endpoint
	}
	var writes, creates []write
	for _, g := range groups {
		chunks := chunk(g.endpoints)
		reuse := byKey[g.key]
		delete(byKey, g.key)
		for i, eps := range chunks {
			if i < len(reuse) {
				writes = append(writes, write{reuse[i], g.ports, eps})
			} else {
				creates = append(creates, write{nil, g.ports, eps})
			}
		}
		if len(reuse) > len(chunks) {
			extra = append(extra, reuse[len(chunks):]...)
		}
	}
	var spare []*discovery.EndpointSlice
	for _, rest := range byKey {
		spare = append(spare, rest...)
	}
	sort.Slice(spare, func(i, j int) bool { return spare[i].Name < spare[j].Name })
	for _, w := range creates {
		if len(spare) > 0 {
			w.cur, spare = spare[0], spare[1:]
		}
		writes = append(writes, w)
	}
	extra = append(extra, spare...)
	for _, w := range writes {
		if err := c.writeSlice(ctx, svc, w.cur, w.ports, w.eps, trigger); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range extra {
		err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, deleteOptions())
		switch {
		case err == nil:
			c.wrote(svc.Namespace+"/"+svc.Name, s.Name, false)
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("delete endpointslice %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

func chunk(eps []discovery.Endpoint) [][]discovery.Endpoint {
	if len(eps) == 0 {
		return [][]discovery.Endpoint{{}}
	}
	var out [][]discovery.Endpoint
	for len(eps) > MaxEndpointsPerSlice {
		out = append(out, eps[:MaxEndpointsPerSlice])
		eps = eps[MaxEndpointsPerSlice:]
	}
	return append(out, eps)
}

func ownedBy(s *discovery.EndpointSlice, svc *v1.Service) bool {
	for _, r := range s.OwnerReferences {
		if r.UID == svc.UID && r.Kind == "Service" && r.APIVersion == "v1" {
			return true
		}
	}
	return false
}

func serviceOwnerRef(svc *v1.Service) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// sliceName picks a new slice name: the Service name (cut to fit) and a
// random suffix, like the API server's generateName.
func sliceName(svc string) string {
	const maxPrefix = 63 - 6
	if len(svc) > maxPrefix-1 {
		svc = svc[:maxPrefix-1]
	}
	return svc + "-" + utilrand.String(5)
}

// writeSlice creates (cur == nil) or updates one slice; an update is skipped
// when nothing but the trigger time would change.
func (c *Controller) writeSlice(ctx context.Context, svc *v1.Service, cur *discovery.EndpointSlice, ports []discovery.EndpointPort, eps []discovery.Endpoint, trigger time.Time) error {
	lbls := serviceLabels(svc)
	lbls[LabelServiceName] = svc.Name
	lbls[LabelManagedBy] = ManagedBy
	if eps == nil {
		eps = []discovery.Endpoint{}
	}
	if cur != nil &&
		apiequality.Semantic.DeepEqual(cur.Endpoints, eps) &&
		apiequality.Semantic.DeepEqual(cur.Ports, ports) &&
		apiequality.Semantic.DeepEqual(cur.Labels, lbls) {
		return nil
	}
	var s *discovery.EndpointSlice
	if cur == nil {
		s = &discovery.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:            sliceName(svc.Name),
				Namespace:       svc.Namespace,
				OwnerReferences: []metav1.OwnerReference{serviceOwnerRef(svc)},
			},
			AddressType: discovery.AddressTypeIPv4,
		}
	} else {
		s = cur.DeepCopy()
	}
	s.Labels = lbls
	s.Endpoints = eps
	s.Ports = ports
	if !trigger.IsZero() {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[AnnotationTriggered] = trigger.UTC().Format(time.RFC3339Nano)
	}
	var err error
	if cur == nil {
		_, err = c.client.DiscoveryV1().EndpointSlices(svc.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err == nil {
			c.wrote(svc.Namespace+"/"+svc.Name, s.Name, true)
		}
	} else {
		_, err = c.client.DiscoveryV1().EndpointSlices(svc.Namespace).Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("write endpointslice %s: %w", s.Name, err)
	}
	logging.FromContext(ctx).Debug("endpointslice written", "slice", s.Name, "endpoints", len(eps), "created", cur == nil)
	return nil
}
