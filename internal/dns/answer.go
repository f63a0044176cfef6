package dns

import (
	"net"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// schemaVersion is the Kubernetes DNS specification version served at
// dns-version.<zone>.
const schemaVersion = "1.1.0"

// zoneAnswer is the result of answering one question inside the zone.
type zoneAnswer struct {
	rcode  int
	answer []mdns.RR
	extra  []mdns.RR
}

// query is a parsed name inside the zone.
type query struct {
	owner string // the question name, as asked (case kept)
	qtype uint16
}

// target is one address behind a name: a Service's cluster IP or an endpoint.
type target struct {
	name   string // FQDN that SRV records point at
	ip     net.IP
	port   uint16
	hasPrt bool // false when the service or endpoint has no port (no SRV)
}

// answerZone answers a question for a name inside the zone; name is lower
// case and fully qualified.
func (h *handler) answerZone(q query, name string) zoneAnswer {
	rel := strings.TrimSuffix(strings.TrimSuffix(name, h.zone), ".")
	var labels []string // nearest the zone first
	if rel != "" {
		labels = mdns.SplitDomainName(rel)
		slices.Reverse(labels)
	}
	switch {
	case len(labels) == 0:
		return h.answerApex(q)
	case labels[0] == "dns-version" && len(labels) == 1:
		if q.qtype == mdns.TypeTXT {
			return zoneAnswer{answer: []mdns.RR{&mdns.TXT{Hdr: h.hdr(q.owner, mdns.TypeTXT), Txt: []string{schemaVersion}}}}
		}
		return nodata()
	case labels[0] == "svc":
		return h.answerSvc(q, labels[1:])
	case labels[0] == "pod":
		return h.answerPod(q, labels[1:])
	}
	return nxdomain()
}

func nxdomain() zoneAnswer { return zoneAnswer{rcode: mdns.RcodeNameError} }
func nodata() zoneAnswer   { return zoneAnswer{rcode: mdns.RcodeSuccess} }

func (h *handler) hdr(owner string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: owner, Rrtype: t, Class: mdns.ClassINET, Ttl: h.ttl}
}

func (h *handler) soa() *mdns.SOA {
	return &mdns.SOA{
		Hdr:     h.hdr(h.zone, mdns.TypeSOA),
		Ns:      "ns.dns." + h.zone,
		Mbox:    "hostmaster." + h.zone,
		Serial:  h.ix.currentSerial(),
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  h.ttl,
	}
}

func (h *handler) answerApex(q query) zoneAnswer {
	if q.qtype == mdns.TypeSOA {
		soa := h.soa()
		soa.Hdr.Name = q.owner
		return zoneAnswer{answer: []mdns.RR{soa}}
	}
	return nodata()
}

// answerSvc answers names under svc.<zone>; labels are the ones left of
// "svc", nearest first: namespace, service, then an endpoint label or a
// protocol and a port.
func (h *handler) answerSvc(q query, labels []string) zoneAnswer {
	switch len(labels) {
	case 0:
		return nodata()
	case 1:
		if h.ix.namespaceKnown(labels[0]) {
			return nodata()
		}
		return nxdomain()
	case 2:
		return h.answerService(q, labels[0], labels[1], "", "", "")
	case 3:
		return h.answerService(q, labels[0], labels[1], labels[2], "", "")
	case 4:
		proto, okProto := strings.CutPrefix(labels[2], "_")
		portName, okPort := strings.CutPrefix(labels[3], "_")
		if !okProto || !okPort || proto == "" || portName == "" {
			return nxdomain()
		}
		return h.answerService(q, labels[0], labels[1], "", portName, proto)
	}
	return nxdomain()
}

func matchPort(p port, name, proto string) bool {
	return (name == "" || p.name == name) && (proto == "" || p.protocol == proto)
}

// answerService answers for <svc>.<ns>.svc, <endpoint>.<svc>.<ns>.svc and
// _<port>._<proto>.<svc>.<ns>.svc.
func (h *handler) answerService(q query, namespace, name, endpointLabel, portName, proto string) zoneAnswer {
	v, ok := h.ix.lookup(namespace, name)
	if !ok {
		return nxdomain()
	}
	svcName := name + "." + namespace + ".svc." + h.zone
	if v.externalName != "" {
		if endpointLabel != "" || portName != "" {
			return nxdomain()
		}
		return zoneAnswer{answer: []mdns.RR{&mdns.CNAME{Hdr: h.hdr(q.owner, mdns.TypeCNAME), Target: mdns.Fqdn(v.externalName)}}}
	}
	var targets []target
	switch {
	case endpointLabel != "" || v.headless:
		for _, ep := range v.endpoints {
			if endpointLabel != "" && ep.label != endpointLabel {
				continue
			}
			epName := ep.label + "." + svcName
			if len(ep.ports) == 0 && portName == "" && proto == "" {
				targets = append(targets, target{name: epName, ip: ep.ip})
			}
			for _, p := range ep.ports {
				if matchPort(p, portName, proto) {
					targets = append(targets, target{name: epName, ip: ep.ip, port: p.number, hasPrt: true})
				}
			}
		}
	default:
		if len(v.ports) == 0 && portName == "" && proto == "" {
			for _, ip := range v.clusterIPs {
				targets = append(targets, target{name: svcName, ip: ip})
			}
		}
		for _, p := range v.ports {
			if !matchPort(p, portName, proto) {
				continue
			}
			for _, ip := range v.clusterIPs {
				targets = append(targets, target{name: svcName, ip: ip, port: p.number, hasPrt: true})
			}
		}
	}
	if len(targets) == 0 {
		// As CoreDNS: a headless service without served endpoints, an
		// unknown endpoint or an unknown port is a name that does not exist.
		return nxdomain()
	}
	switch q.qtype {
	case mdns.TypeA, mdns.TypeAAAA, mdns.TypeANY:
		return zoneAnswer{answer: h.addressRecords(q.owner, q.qtype, targets)}
	case mdns.TypeSRV:
		return h.srvRecords(q.owner, targets)
	}
	return nodata()
}

// addressRecords returns the A and/or AAAA records (one per distinct IP) of
// targets, owned by owner.
func (h *handler) addressRecords(owner string, qtype uint16, targets []target) []mdns.RR {
	var out []mdns.RR
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.ip.String()] {
			continue
		}
		seen[t.ip.String()] = true
		if rr := h.addressRR(owner, qtype, t.ip); rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

func (h *handler) addressRR(owner string, qtype uint16, ip net.IP) mdns.RR {
	if v4 := ip.To4(); v4 != nil {
		if qtype == mdns.TypeA || qtype == mdns.TypeANY {
			return &mdns.A{Hdr: h.hdr(owner, mdns.TypeA), A: v4}
		}
		return nil
	}
	if qtype == mdns.TypeAAAA || qtype == mdns.TypeANY {
		return &mdns.AAAA{Hdr: h.hdr(owner, mdns.TypeAAAA), AAAA: ip}
	}
	return nil
}

// srvRecords returns one SRV record per distinct (target, port), priority 0
// and equal weights summing to about 100 (CoreDNS' scheme), and the
// targets' addresses as additional records.
func (h *handler) srvRecords(owner string, targets []target) zoneAnswer {
	type key struct {
		name string
		port uint16
	}
	var keys []key
	seen := map[key]bool{}
	addrs := map[string][]net.IP{}
	var order []string
	for _, t := range targets {
		if _, ok := addrs[t.name]; !ok {
			order = append(order, t.name)
		}
		if !slices.ContainsFunc(addrs[t.name], t.ip.Equal) {
			addrs[t.name] = append(addrs[t.name], t.ip)
		}
		if !t.hasPrt {
			continue
		}
		k := key{t.name, t.port}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nodata()
	}
	weight := uint16(100 / len(keys))
	if weight == 0 {
		weight = 1
	}
	a := zoneAnswer{}
	used := map[string]bool{}
	for _, k := range keys {
		a.answer = append(a.answer, &mdns.SRV{Hdr: h.hdr(owner, mdns.TypeSRV), Priority: 0, Weight: weight, Port: k.port, Target: k.name})
		used[k.name] = true
	}
	for _, name := range order {
		if !used[name] {
			continue
		}
		for _, ip := range addrs[name] {
			if rr := h.addressRR(name, mdns.TypeANY, ip); rr != nil {
				a.extra = append(a.extra, rr)
			}
		}
	}
	return a
}

// answerPod answers <a-b-c-d>.<ns>.pod names: the address spelled in the
// first label (CoreDNS "pods insecure" mode).
func (h *handler) answerPod(q query, labels []string) zoneAnswer {
	switch len(labels) {
	case 0, 1:
		return nodata()
	case 2:
	default:
		return nxdomain()
	}
	label := labels[1]
	var s string
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		s = strings.ReplaceAll(label, "-", ".")
	} else {
		s = strings.ReplaceAll(label, "-", ":")
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nxdomain()
	}
	if rr := h.addressRR(q.owner, q.qtype, ip); rr != nil {
		return zoneAnswer{answer: []mdns.RR{rr}}
	}
	return nodata()
}

// reverseIP parses an in-addr.arpa or ip6.arpa name (lower case, fully
// qualified) into an IP; ok is false for other names or partial names.
func reverseIP(name string) (net.IP, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return nil, false
		}
		slices.Reverse(parts)
		ip := net.ParseIP(strings.Join(parts, "."))
		return ip, ip != nil
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return nil, false
		}
		slices.Reverse(nibbles)
		var b strings.Builder
		for i, n := range nibbles {
			if len(n) != 1 {
				return nil, false
			}
			if i > 0 && i%4 == 0 {
				b.WriteByte(':')
			}
			b.WriteString(n)
		}
		ip := net.ParseIP(b.String())
		return ip, ip != nil
	}
	return nil, false
}

// answerReverse answers a reverse name for an IP the index knows; ok is
// false when the IP belongs to no Service or endpoint.
func (h *handler) answerReverse(q query, ip net.IP) (zoneAnswer, bool) {
	names := h.ix.reverseNames(ip)
	if len(names) == 0 {
		return zoneAnswer{}, false
	}
	if q.qtype != mdns.TypePTR {
		return nodata(), true
	}
	a := zoneAnswer{}
	for _, n := range names {
		a.answer = append(a.answer, &mdns.PTR{Hdr: h.hdr(q.owner, mdns.TypePTR), Ptr: n + "." + h.zone})
	}
	return a, true
}
