package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Input is what the rules are computed from: every policy, every pod and
// namespace of the cluster (pods of other nodes contribute only their
// addresses), the node's name and its cluster DNS address.
type Input struct {
	NodeName   string
	Policies   []*networkingv1.NetworkPolicy
	Pods       []*corev1.Pod
	Namespaces []*corev1.Namespace
	// DNS is the node's cluster DNS (the bridge's gateway), which serves
	// the kube-dns Service on this node. Policies see it as a pod of
	// kube-system labelled k8s-app=kube-dns with CoreDNS' named ports dns
	// (UDP 53) and dns-tcp (TCP 53), so the usual "allow DNS" egress rule
	// admits it. Invalid: no such peer.
	DNS netip.Addr
}

// Rules is the node's policy state: named address sets and, for each
// local pod a policy isolates, what it may receive and send.
type Rules struct {
	Sets []Set
	Pods []PodRules
}

// Set is a named set of IPv4 ranges, sorted and merged.
type Set struct {
	Name   string
	Ranges []Range
}

// Range is the IPv4 addresses From through To, inclusive.
type Range struct{ From, To netip.Addr }

// PodRules are one local pod's rules. Ingress (Egress) is nil when no
// policy isolates the pod in that direction; an empty one allows nothing
// but the replies of connections the pod is allowed.
type PodRules struct {
	Pod             string // namespace/name
	IP              netip.Addr
	Ingress, Egress []Match
}

// Match allows new connections (or UDP/SCTP flows) whose peer address is in
// Set ("" any address), with protocol Proto ("" any) and destination port
// in PortFrom-PortTo (0: any port).
type Match struct {
	Set              string
	Proto            corev1.Protocol
	PortFrom, PortTo uint16
}

// endpoint is a pod as policies see it.
type endpoint struct {
	namespace, name string
	labels          labels.Set
	ip              netip.Addr
	local           bool
	ports           []corev1.ContainerPort
}

// Compute returns the rules of in. It is pure and deterministic: the same
// input gives the same rules, set names included.
func Compute(in Input) Rules {
	eps := endpoints(in)
	nsLabels := map[string]labels.Set{}
	for _, ns := range in.Namespaces {
		nsLabels[ns.Name] = ns.Labels
	}
	b := &builder{byKey: map[string]string{}}
	policies := append([]*networkingv1.NetworkPolicy(nil), in.Policies...)
	sort.Slice(policies, func(i, j int) bool {
		return policies[i].Namespace+"/"+policies[i].Name < policies[j].Namespace+"/"+policies[j].Name
	})
	var out Rules
	for _, ep := range eps {
		if !ep.local {
			continue
		}
		pr := PodRules{Pod: ep.namespace + "/" + ep.name, IP: ep.ip}
		var ingress, egress bool
		for _, np := range policies {
			if np.Namespace != ep.namespace || !selects(&np.Spec.PodSelector, ep.labels) {
				continue
			}
			for _, t := range np.Spec.PolicyTypes {
				switch t {
				case networkingv1.PolicyTypeIngress:
					ingress = true
					for _, r := range np.Spec.Ingress {
						pr.Ingress = append(pr.Ingress, b.ingress(np.Namespace, r, ep, eps, nsLabels)...)
					}
				case networkingv1.PolicyTypeEgress:
					egress = true
					for _, r := range np.Spec.Egress {
						pr.Egress = append(pr.Egress, b.egress(np.Namespace, r, eps, nsLabels)...)
					}
				}
			}
		}
		if !ingress && !egress {
			continue
		}
		if ingress && pr.Ingress == nil {
			pr.Ingress = []Match{}
		}
		if egress && pr.Egress == nil {
			pr.Egress = []Match{}
		}
		pr.Ingress, pr.Egress = dedupe(pr.Ingress), dedupe(pr.Egress)
		out.Pods = append(out.Pods, pr)
	}
	out.Sets = b.sets
	return out
}

// endpoints are the pods with an IPv4 address on the pod network (not
// host-network, not finished), and the node's DNS, sorted by address.
func endpoints(in Input) []endpoint {
	var eps []endpoint
	seen := map[netip.Addr]bool{}
	for _, p := range in.Pods {
		if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !ip.Is4() || seen[ip] {
			continue
		}
		seen[ip] = true
		var ports []corev1.ContainerPort
		for _, c := range p.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
		eps = append(eps, endpoint{namespace: p.Namespace, name: p.Name, labels: p.Labels, ip: ip,
			local: p.Spec.NodeName == in.NodeName, ports: ports})
	}
	if in.DNS.Is4() && !seen[in.DNS] {
		eps = append(eps, endpoint{namespace: metav1.NamespaceSystem, name: "cluster-dns", ip: in.DNS,
			labels: labels.Set{"k8s-app": "kube-dns"},
			ports: []corev1.ContainerPort{
				{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
				{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
			}})
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].ip.Less(eps[j].ip) })
	return eps
}

// selects reports whether a policy's selector selects a set of labels; a
// selector that does not parse (never stored: validation refuses it)
// selects nothing.
func selects(sel *metav1.LabelSelector, set labels.Set) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(set)
}

// builder names address sets, one per distinct content.
type builder struct {
	sets  []Set
	byKey map[string]string
}

// set returns the name of the set holding ranges, "" for no set (the
// caller checks emptiness first).
func (b *builder) set(ranges []Range) string {
	ranges = merge(ranges)
	var key strings.Builder
	for _, r := range ranges {
		fmt.Fprintf(&key, "%s-%s,", r.From, r.To)
	}
	if name, ok := b.byKey[key.String()]; ok {
		return name
	}
	name := fmt.Sprintf("peers-%d", len(b.sets))
	b.byKey[key.String()] = name
	b.sets = append(b.sets, Set{Name: name, Ranges: ranges})
	return name
}

// peerRanges are the addresses a rule's peers name; all reports a rule
// without peers (every address).
func peerRanges(policyNS string, peers []networkingv1.NetworkPolicyPeer, eps []endpoint, nsLabels map[string]labels.Set) (ranges []Range, all bool) {
	if len(peers) == 0 {
		return nil, true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			ranges = append(ranges, blockRanges(peer.IPBlock)...)
			continue
		}
		for _, ep := range eps {
			if peerSelects(policyNS, peer, ep, nsLabels) {
				ranges = append(ranges, Range{ep.ip, ep.ip})
			}
		}
	}
	return ranges, false
}

// peerSelects: a podSelector alone selects pods of the policy's namespace;
// a namespaceSelector alone every pod of the namespaces it selects; both,
// the pods podSelector selects in those namespaces.
func peerSelects(policyNS string, peer networkingv1.NetworkPolicyPeer, ep endpoint, nsLabels map[string]labels.Set) bool {
	if peer.NamespaceSelector == nil {
		if ep.namespace != policyNS {
			return false
		}
	} else {
		l, ok := nsLabels[ep.namespace]
		if !ok && ep.namespace == metav1.NamespaceSystem {
			l = labels.Set{corev1.LabelMetadataName: ep.namespace}
		}
		if !selects(peer.NamespaceSelector, l) {
			return false
		}
	}
	return peer.PodSelector == nil || selects(peer.PodSelector, ep.labels)
}

// blockRanges are an ipBlock's IPv4 addresses: cidr without the excepts.
func blockRanges(b *networkingv1.IPBlock) []Range {
	p, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !p.Addr().Is4() {
		return nil
	}
	out := []Range{prefixRange(p.Masked())}
	for _, ex := range b.Except {
		e, err := netip.ParsePrefix(ex)
		if err != nil || !e.Addr().Is4() {
			continue
		}
		out = subtract(out, prefixRange(e.Masked()))
	}
	return out
}

func prefixRange(p netip.Prefix) Range {
	from := p.Addr().As4()
	to := from
	host := uint32(1)<<(32-p.Bits()) - 1
	if p.Bits() == 0 {
		host = ^uint32(0)
	}
	v := be(to) | host
	return Range{p.Addr(), netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})}
}

func be(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// subtract removes cut from every range.
func subtract(rs []Range, cut Range) []Range {
	var out []Range
	for _, r := range rs {
		if cut.To.Less(r.From) || r.To.Less(cut.From) {
			out = append(out, r)
			continue
		}
		if r.From.Less(cut.From) {
			out = append(out, Range{r.From, cut.From.Prev()})
		}
		if cut.To.Less(r.To) {
			out = append(out, Range{cut.To.Next(), r.To})
		}
	}
	return out
}

// merge sorts ranges and joins those that overlap or touch.
func merge(rs []Range) []Range {
	rs = append([]Range(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].From.Less(rs[j].From) })
	var out []Range
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if next := last.To.Next(); !r.From.Less(last.From) && (!next.IsValid() || !next.Less(r.From)) {
				if last.To.Less(r.To) {
					last.To = r.To
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// ingress are the matches of one ingress rule for the local pod dst: named
// ports are dst's own container ports.
func (b *builder) ingress(policyNS string, r networkingv1.NetworkPolicyIngressRule, dst endpoint, eps []endpoint, nsLabels map[string]labels.Set) []Match {
	ranges, all := peerRanges(policyNS, r.From, eps, nsLabels)
	if !all && len(ranges) == 0 {
		return nil
	}
	set := ""
	if !all {
		set = b.set(ranges)
	}
	if len(r.Ports) == 0 {
		return []Match{{Set: set}}
	}
	var out []Match
	for _, p := range r.Ports {
		proto := protocol(p.Protocol)
		if p.Port != nil && p.Port.Type == intstr.String {
			if n, ok := namedPort(dst.ports, p.Port.StrVal, proto); ok {
				out = append(out, Match{Set: set, Proto: proto, PortFrom: n, PortTo: n})
			}
			continue
		}
		out = append(out, portMatch(set, p))
	}
	return out
}

// egress are the matches of one egress rule: a named port is each
// destination pod's own, so such a port gives one match per port number
// its peers resolve it to, with a set of those peers.
func (b *builder) egress(policyNS string, r networkingv1.NetworkPolicyEgressRule, eps []endpoint, nsLabels map[string]labels.Set) []Match {
	ranges, all := peerRanges(policyNS, r.To, eps, nsLabels)
	if !all && len(ranges) == 0 {
		return nil
	}
	// The rule's own set, made only when a match uses it.
	set := func() string {
		if all {
			return ""
		}
		return b.set(ranges)
	}
	if len(r.Ports) == 0 {
		return []Match{{Set: set()}}
	}
	merged := merge(ranges)
	var out []Match
	for _, p := range r.Ports {
		proto := protocol(p.Protocol)
		if p.Port == nil || p.Port.Type != intstr.String {
			out = append(out, portMatch(set(), p))
			continue
		}
		byPort := map[uint16][]Range{}
		for _, ep := range eps {
			if !all && !contains(merged, ep.ip) {
				continue
			}
			if n, ok := namedPort(ep.ports, p.Port.StrVal, proto); ok {
				byPort[n] = append(byPort[n], Range{ep.ip, ep.ip})
			}
		}
		numbers := make([]int, 0, len(byPort))
		for n := range byPort {
			numbers = append(numbers, int(n))
		}
		sort.Ints(numbers)
		for _, n := range numbers {
			out = append(out, Match{Set: b.set(byPort[uint16(n)]), Proto: proto, PortFrom: uint16(n), PortTo: uint16(n)})
		}
	}
	return out
}

func contains(rs []Range, a netip.Addr) bool {
	for _, r := range rs {
		if !a.Less(r.From) && !r.To.Less(a) {
			return true
		}
	}
	return false
}

func protocol(p *corev1.Protocol) corev1.Protocol {
	if p == nil {
		return corev1.ProtocolTCP
	}
	return *p
}

// portMatch is a numeric port (with its endPort) or no port.
func portMatch(set string, p networkingv1.NetworkPolicyPort) Match {
	m := Match{Set: set, Proto: protocol(p.Protocol)}
	if p.Port != nil {
		m.PortFrom, m.PortTo = uint16(p.Port.IntVal), uint16(p.Port.IntVal)
		if p.EndPort != nil {
			m.PortTo = uint16(*p.EndPort)
		}
	}
	return m
}

// namedPort is the number of the container port called name with proto.
func namedPort(ports []corev1.ContainerPort, name string, proto corev1.Protocol) (uint16, bool) {
	for _, cp := range ports {
		p := cp.Protocol
		if p == "" {
			p = corev1.ProtocolTCP
		}
		if cp.Name == name && p == proto {
			return uint16(cp.ContainerPort), true
		}
	}
	return 0, false
}

func dedupe(ms []Match) []Match {
	seen := map[Match]bool{}
	out := ms[:0]
	for _, m := range ms {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// String is a readable form of the rules (tests, logs, change detection).
func (r Rules) String() string {
	var s strings.Builder
	for _, set := range r.Sets {
		fmt.Fprintf(&s, "set %s:", set.Name)
		for _, rg := range set.Ranges {
			if rg.From == rg.To {
				fmt.Fprintf(&s, " %s", rg.From)
			} else {
				fmt.Fprintf(&s, " %s-%s", rg.From, rg.To)
			}
		}
		s.WriteString("\n")
	}
	for _, p := range r.Pods {
		fmt.Fprintf(&s, "pod %s %s\n", p.Pod, p.IP)
		for _, dir := range []struct {
			name string
			ms   []Match
		}{{"ingress", p.Ingress}, {"egress", p.Egress}} {
			if dir.ms == nil {
				continue
			}
			fmt.Fprintf(&s, "  %s:", dir.name)
			if len(dir.ms) == 0 {
				s.WriteString(" deny")
			}
			for _, m := range dir.ms {
				s.WriteString(" [" + m.String() + "]")
			}
			s.WriteString("\n")
		}
	}
	return s.String()
}

func (m Match) String() string {
	var parts []string
	if m.Set == "" {
		parts = append(parts, "any")
	} else {
		parts = append(parts, "@"+m.Set)
	}
	if m.Proto != "" {
		parts = append(parts, string(m.Proto))
	}
	switch {
	case m.PortFrom == 0:
	case m.PortFrom == m.PortTo:
		parts = append(parts, fmt.Sprint(m.PortFrom))
	default:
		parts = append(parts, fmt.Sprintf("%d-%d", m.PortFrom, m.PortTo))
	}
	return strings.Join(parts, " ")
}
