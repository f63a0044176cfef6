package proxy

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Rules is what the proxy installs: one entry per Service IP, protocol and
// port.
type Rules struct {
	Services []ServicePort
}

// ServicePort is one Service IP:port/protocol and where it goes.
type ServicePort struct {
	Name      string // namespace/name:port, for logs and tests
	ClusterIP net.IP // IPv4
	Protocol  corev1.Protocol
	Port      uint16
	// Endpoints are the ready endpoints to DNAT to; none rejects.
	Endpoints []Endpoint
}

// Endpoint is one destination.
type Endpoint struct {
	IP   net.IP
	Port uint16
}

func (e Endpoint) String() string { return net.JoinHostPort(e.IP.String(), fmt.Sprint(e.Port)) }

// Compute derives the rules for node from Services and EndpointSlices:
// ClusterIP (and NodePort/LoadBalancer's cluster IP) Services with an IPv4
// cluster IP, TCP and UDP ports; endpoints of the Service's slices whose
// port name matches and whose ready condition is not false, deduplicated;
// for internalTrafficPolicy Local only those on node.
func Compute(node string, services []*corev1.Service, slices []*discoveryv1.EndpointSlice) Rules {
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range slices {
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" || s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		bySvc[s.Namespace+"/"+name] = append(bySvc[s.Namespace+"/"+name], s)
	}
	var out Rules
	for _, svc := range services {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		ip := net.ParseIP(svc.Spec.ClusterIP).To4()
		if ip == nil {
			continue // headless, unset, or IPv6
		}
		local := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
		key := svc.Namespace + "/" + svc.Name
		for _, p := range svc.Spec.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP {
				continue
			}
			sp := ServicePort{Name: key + ":" + portName(p), ClusterIP: ip, Protocol: proto, Port: uint16(p.Port)}
			seen := map[string]bool{}
			for _, sl := range bySvc[key] {
				port, ok := slicePort(sl, p.Name, proto)
				if !ok {
					continue
				}
				for _, e := range sl.Endpoints {
					if e.Conditions.Ready != nil && !*e.Conditions.Ready {
						continue
					}
					if local && (e.NodeName == nil || *e.NodeName != node) {
						continue
					}
					for _, a := range e.Addresses {
						eip := net.ParseIP(a).To4()
						ep := Endpoint{IP: eip, Port: port}
						if eip == nil || seen[ep.String()] {
							continue
						}
						seen[ep.String()] = true
						sp.Endpoints = append(sp.Endpoints, ep)
					}
				}
			}
			sort.Slice(sp.Endpoints, func(i, j int) bool { return sp.Endpoints[i].String() < sp.Endpoints[j].String() })
			out.Services = append(out.Services, sp)
		}
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Name < out.Services[j].Name })
	return out
}

func portName(p corev1.ServicePort) string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
}

// slicePort is the slice's port number for the Service port named name.
func slicePort(sl *discoveryv1.EndpointSlice, name string, proto corev1.Protocol) (uint16, bool) {
	for _, p := range sl.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pn == name && pp == proto && p.Port != nil {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}

// String renders the rules in nft's syntax, as the table holds them
// (services chain and rejects; the fixed chains are in doc.go).
func (r Rules) String() string {
	var b strings.Builder
	for _, s := range r.Services {
		match := fmt.Sprintf("ip daddr %s %s dport %d", s.ClusterIP, strings.ToLower(string(s.Protocol)), s.Port)
		if len(s.Endpoints) == 0 {
			fmt.Fprintf(&b, "%s reject # %s: no endpoints\n", match, s.Name)
			continue
		}
		fmt.Fprintf(&b, "%s meta mark set mark | 0x4000 # %s\n", match, s.Name)
		n := len(s.Endpoints)
		for i, e := range s.Endpoints {
			if i == n-1 {
				fmt.Fprintf(&b, "%s dnat to %s\n", match, e)
			} else {
				fmt.Fprintf(&b, "%s numgen random mod %d 0 dnat to %s\n", match, n-i, e)
			}
		}
	}
	return b.String()
}
