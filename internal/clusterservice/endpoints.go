package clusterservice

import (
	"context"
	"fmt"
	"net"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
// slices this package writes (the endpointslice controller leaves
// Services without a selector alone).
const ManagedBy = "clusterservice.petset.io"

// endpoint is one address of a built-in Service.
type endpoint struct {
	IP       string
	NodeName string // "" for none
	Ready    bool
}

// writeEndpoints makes the Endpoints and the EndpointSlice named name in
// ns list eps (sorted by address) with ports, creating or updating them
// only when they differ.
func writeEndpoints(ctx context.Context, client kubernetes.Interface, ns, name string, ports []corev1.EndpointPort, eps []endpoint) error {
	eps = append([]endpoint(nil), eps...)
	sort.Slice(eps, func(i, j int) bool { return eps[i].IP < eps[j].IP })
	if err := writeEndpointsObject(ctx, client, ns, name, ports, eps); err != nil {
		return err
	}
	return writeSlice(ctx, client, ns, name, ports, eps)
}

func writeEndpointsObject(ctx context.Context, client kubernetes.Interface, ns, name string, ports []corev1.EndpointPort, eps []endpoint) error {
	var subset corev1.EndpointSubset
	for _, e := range eps {
		a := corev1.EndpointAddress{IP: e.IP}
		if e.NodeName != "" {
			a.NodeName = ptr.To(e.NodeName)
		}
		if e.Ready {
			subset.Addresses = append(subset.Addresses, a)
		} else {
			subset.NotReadyAddresses = append(subset.NotReadyAddresses, a)
		}
	}
	var subsets []corev1.EndpointSubset
	if len(eps) > 0 {
		subset.Ports = ports
		subsets = []corev1.EndpointSubset{subset}
	}
	api := client.CoreV1().Endpoints(ns)
	cur, err := api.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Subsets: subsets}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create endpoints %s/%s: %w", ns, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get endpoints %s/%s: %w", ns, name, err)
	}
	if apiequality.Semantic.DeepEqual(cur.Subsets, subsets) {
		return nil
	}
	cur = cur.DeepCopy()
	cur.Subsets = subsets
	if _, err := api.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update endpoints %s/%s: %w", ns, name, err)
	}
	return nil
}

func writeSlice(ctx context.Context, client kubernetes.Interface, ns, name string, ports []corev1.EndpointPort, eps []endpoint) error {
	want := discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	for _, p := range ports {
		want.Ports = append(want.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(p.Port), Protocol: ptr.To(p.Protocol)})
	}
	for _, e := range eps {
		if ip := net.ParseIP(e.IP); ip == nil || ip.To4() == nil {
			continue // IPv4 only
		}
		d := discoveryv1.Endpoint{Addresses: []string{e.IP}, Conditions: discoveryv1.EndpointConditions{
			Ready: ptr.To(e.Ready), Serving: ptr.To(e.Ready), Terminating: ptr.To(false)}}
		if e.NodeName != "" {
			d.NodeName = ptr.To(e.NodeName)
		}
		want.Endpoints = append(want.Endpoints, d)
	}
	labels := map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ManagedBy}
	api := client.DiscoveryV1().EndpointSlices(ns)
	cur, err := api.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		want.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
		_, err = api.Create(ctx, &want, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create endpointslice %s/%s: %w", ns, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get endpointslice %s/%s: %w", ns, name, err)
	}
	sameLabels := true
	for k, v := range labels {
		sameLabels = sameLabels && cur.Labels[k] == v
	}
	if sameLabels && cur.AddressType == want.AddressType &&
		apiequality.Semantic.DeepEqual(cur.Ports, want.Ports) && apiequality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) {
		return nil
	}
	next := cur.DeepCopy()
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	for k, v := range labels {
		next.Labels[k] = v
	}
	next.Ports, next.Endpoints = want.Ports, want.Endpoints
	if _, err := api.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update endpointslice %s/%s: %w", ns, name, err)
	}
	return nil
}
