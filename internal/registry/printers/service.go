package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// listLimit is how many endpoints or ports a cell names before "+ N more...".
const listLimit = 3

// Service is kube's table of Service objects: its columns and rows.
var Service = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Type", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["type"]},
		{Name: "Cluster-IP", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]},
		{Name: "External-IP", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]},
		{Name: "Port(s)", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["ports"]},
		ageColumn,
		{Name: "Selector", Type: "string", Priority: 1, Description: corev1.ServiceSpec{}.SwaggerDoc()["selector"]},
	},
	row: rowFunc(serviceRow),
}

func serviceRow(svc *corev1.Service, now time.Time) (metav1.TableRow, error) {
	clusterIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := servicePorts(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	return metav1.TableRow{Cells: []any{
		svc.Name,
		string(svc.Spec.Type),
		clusterIP,
		serviceExternalIP(svc),
		ports,
		since(svc.CreationTimestamp, now),
		labels.FormatLabels(svc.Spec.Selector),
	}}, nil
}

// serviceExternalIP is the EXTERNAL-IP cell: external IPs, load-balancer
// ingress (or "<pending>"), the external name, or "<none>".
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		lb := loadBalancerAddresses(svc.Status.LoadBalancer)
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(append(lb, svc.Spec.ExternalIPs...), ",")
		}
		if len(lb) > 0 {
			return strings.Join(lb, ",")
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerAddresses are the sorted, distinct ingress IPs or host names.
func loadBalancerAddresses(s corev1.LoadBalancerStatus) []string {
	set := map[string]bool{}
	for _, in := range s.Ingress {
		switch {
		case in.IP != "":
			set[in.IP] = true
		case in.Hostname != "":
			set[in.Hostname] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// servicePorts is "80/TCP,443:30443/TCP".
func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

// Endpoints is kube's table of Endpoints objects: its columns and rows.
var Endpoints = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]}, //nolint:staticcheck // Endpoints is served for old clients.
		ageColumn,
	},
	row: rowFunc(endpointsRow),
}

//nolint:staticcheck // Endpoints is served for old clients.
func endpointsRow(ep *corev1.Endpoints, now time.Time) (metav1.TableRow, error) {
	return metav1.TableRow{Cells: []any{ep.Name, formatEndpoints(ep), since(ep.CreationTimestamp, now)}}, nil
}

// formatEndpoints is "10.0.0.1:80,10.0.0.2:80 + 3 more...", the addresses
// alone for subsets without ports, or "<none>".
//
//nolint:staticcheck // Endpoints is served for old clients.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < listLimit {
			list = append(list, s)
		}
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	out := strings.Join(list, ",")
	if count > listLimit {
		return fmt.Sprintf("%s + %d more...", out, count-listLimit)
	}
	return out
}

// EndpointSlice is kube's table of EndpointSlice objects: its columns and rows.
var EndpointSlice = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "AddressType", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["addressType"]},
		{Name: "Ports", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["ports"]},
		{Name: "Endpoints", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["endpoints"]},
		ageColumn,
	},
	row: rowFunc(endpointSliceRow),
}

func endpointSliceRow(s *discoveryv1.EndpointSlice, now time.Time) (metav1.TableRow, error) {
	var ports []string
	for _, p := range s.Ports {
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	var addrs []string
	for _, e := range s.Endpoints {
		addrs = append(addrs, e.Addresses...)
	}
	return metav1.TableRow{Cells: []any{
		s.Name,
		string(s.AddressType),
		limitedList(ports),
		limitedList(addrs),
		since(s.CreationTimestamp, now),
	}}, nil
}

// limitedList is the first three items joined by commas, "+ N more..." for
// the rest, or "<unset>" for none.
func limitedList(items []string) string {
	if len(items) == 0 {
		return "<unset>"
	}
	if len(items) > listLimit {
		return fmt.Sprintf("%s + %d more...", strings.Join(items[:listLimit], ","), len(items)-listLimit)
	}
	return strings.Join(items, ",")
}
