package dns

import (
	"net"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// svcKey names a Service.
type svcKey struct{ namespace, name string }

// port is one named port of a Service or an EndpointSlice.
type port struct {
	name     string // lower case; "" for an unnamed port
	protocol string // lower case: "tcp", "udp", "sctp"
	number   uint16
}

// endpoint is one address serving a Service, as published in DNS.
type endpoint struct {
	label string // DNS label: the endpoint hostname, else the IP with dashes
	ip    net.IP
	ports []port
}

// service is the DNS view of one Service with its endpoints. Values are
// immutable once published in the index.
type service struct {
	key          svcKey
	headless     bool
	externalName string // set for type ExternalName (served as CNAME)
	clusterIPs   []net.IP
	ports        []port
	endpoints    []endpoint // served endpoints only (ready, or any with publishNotReadyAddresses)
}

// index holds the DNS view of Services and EndpointSlices. Informer event
// handlers write it; queries read it. All methods are safe for concurrent use.
type index struct {
	mu sync.RWMutex
	// Raw objects as last seen by the informers.
	rawSvc    map[svcKey]*corev1.Service
	rawSlices map[svcKey]map[string]*discoveryv1.EndpointSlice // by owning service, then slice name
	sliceSvc  map[svcKey]svcKey                                // slice (ns, name) -> owning service
	// Published views.
	services   map[svcKey]*service
	namespaces map[string]int                 // number of Services per namespace
	reverse    map[string]map[svcKey][]string // IP string -> owner service -> relative names (e.g. "web-0.nginx.default.svc")
	serial     uint32
}

func newIndex() *index {
	return &index{
		rawSvc:     map[svcKey]*corev1.Service{},
		rawSlices:  map[svcKey]map[string]*discoveryv1.EndpointSlice{},
		sliceSvc:   map[svcKey]svcKey{},
		services:   map[svcKey]*service{},
		namespaces: map[string]int{},
		reverse:    map[string]map[svcKey][]string{},
		serial:     1,
	}
}

// serviceHandler returns the informer event handler for Services.
func (ix *index) serviceHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ix.setService(obj) },
		UpdateFunc: func(_, obj any) { ix.setService(obj) },
		DeleteFunc: func(obj any) { ix.deleteService(obj) },
	}
}

// sliceHandler returns the informer event handler for EndpointSlices.
func (ix *index) sliceHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ix.setSlice(obj) },
		UpdateFunc: func(_, obj any) { ix.setSlice(obj) },
		DeleteFunc: func(obj any) { ix.deleteSlice(obj) },
	}
}

func unwrapTombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

func (ix *index) setService(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	k := svcKey{svc.Namespace, svc.Name}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, had := ix.rawSvc[k]; !had {
		ix.namespaces[k.namespace]++
	}
	ix.rawSvc[k] = svc
	ix.rebuild(k)
}

func (ix *index) deleteService(obj any) {
	svc, ok := unwrapTombstone(obj).(*corev1.Service)
	if !ok {
		return
	}
	k := svcKey{svc.Namespace, svc.Name}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, had := ix.rawSvc[k]; had {
		delete(ix.rawSvc, k)
		if ix.namespaces[k.namespace]--; ix.namespaces[k.namespace] <= 0 {
			delete(ix.namespaces, k.namespace)
		}
	}
	ix.rebuild(k)
}

// sliceOwner is the Service an EndpointSlice belongs to, from the
// kubernetes.io/service-name label; ok is false for slices of no Service.
func sliceOwner(es *discoveryv1.EndpointSlice) (svcKey, bool) {
	name := es.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return svcKey{}, false
	}
	return svcKey{es.Namespace, name}, true
}

func (ix *index) setSlice(obj any) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	sk := svcKey{es.Namespace, es.Name}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	// The owner label can change; drop the slice from its previous owner.
	if prev, had := ix.sliceSvc[sk]; had {
		if owner, ok := sliceOwner(es); !ok || owner != prev {
			ix.removeSlice(prev, es.Name)
			delete(ix.sliceSvc, sk)
			ix.rebuild(prev)
		}
	}
	owner, ok := sliceOwner(es)
	if !ok {
		return
	}
	m := ix.rawSlices[owner]
	if m == nil {
		m = map[string]*discoveryv1.EndpointSlice{}
		ix.rawSlices[owner] = m
	}
	m[es.Name] = es
	ix.sliceSvc[sk] = owner
	ix.rebuild(owner)
}

func (ix *index) deleteSlice(obj any) {
	es, ok := unwrapTombstone(obj).(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	sk := svcKey{es.Namespace, es.Name}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	owner, had := ix.sliceSvc[sk]
	if !had {
		return
	}
	delete(ix.sliceSvc, sk)
	ix.removeSlice(owner, es.Name)
	ix.rebuild(owner)
}

func (ix *index) removeSlice(owner svcKey, name string) {
	if m := ix.rawSlices[owner]; m != nil {
		delete(m, name)
		if len(m) == 0 {
			delete(ix.rawSlices, owner)
		}
	}
}

// rebuild recomputes the published view of one Service from the raw
// objects. The caller holds ix.mu for writing.
func (ix *index) rebuild(k svcKey) {
	ix.serial++
	if old := ix.services[k]; old != nil {
		ix.unpublishReverse(old)
	}
	raw := ix.rawSvc[k]
	if raw == nil {
		delete(ix.services, k)
		return
	}
	v := buildService(raw, ix.rawSlices[k])
	ix.services[k] = v
	ix.publishReverse(v)
}

func (ix *index) publishReverse(v *service) {
	add := func(ip net.IP, name string) {
		s := ip.String()
		m := ix.reverse[s]
		if m == nil {
			m = map[svcKey][]string{}
			ix.reverse[s] = m
		}
		m[v.key] = append(m[v.key], name)
	}
	base := v.key.name + "." + v.key.namespace + ".svc"
	for _, ip := range v.clusterIPs {
		add(ip, base)
	}
	for _, ep := range v.endpoints {
		add(ep.ip, ep.label+"."+base)
	}
}

func (ix *index) unpublishReverse(v *service) {
	drop := func(ip net.IP) {
		s := ip.String()
		if m := ix.reverse[s]; m != nil {
			delete(m, v.key)
			if len(m) == 0 {
				delete(ix.reverse, s)
			}
		}
	}
	for _, ip := range v.clusterIPs {
		drop(ip)
	}
	for _, ep := range v.endpoints {
		drop(ep.ip)
	}
}

// buildService turns a Service and its EndpointSlices into the DNS view.
func buildService(svc *corev1.Service, bySlice map[string]*discoveryv1.EndpointSlice) *service {
	v := &service{key: svcKey{svc.Namespace, svc.Name}}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		v.externalName = strings.ToLower(strings.TrimSuffix(svc.Spec.ExternalName, "."))
		return v
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		if s == corev1.ClusterIPNone {
			v.headless = true
			continue
		}
		if ip := net.ParseIP(s); ip != nil {
			v.clusterIPs = append(v.clusterIPs, ip)
		}
	}
	if len(v.clusterIPs) == 0 {
		v.headless = true
	}
	for _, p := range svc.Spec.Ports {
		v.ports = append(v.ports, port{name: strings.ToLower(p.Name), protocol: protocolOf(p.Protocol), number: uint16(p.Port)})
	}
	publishNotReady := svc.Spec.PublishNotReadyAddresses
	seen := map[string]int{} // ip -> index in v.endpoints
	sliceNames := make([]string, 0, len(bySlice))
	for n := range bySlice {
		sliceNames = append(sliceNames, n)
	}
	slices.Sort(sliceNames)
	for _, n := range sliceNames {
		es := bySlice[n]
		if es.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		var ports []port
		for _, p := range es.Ports {
			if p.Port == nil {
				continue
			}
			name := ""
			if p.Name != nil {
				name = strings.ToLower(*p.Name)
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			ports = append(ports, port{name: name, protocol: protocolOf(proto), number: uint16(*p.Port)})
		}
		for _, e := range es.Endpoints {
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			if !ready && !publishNotReady {
				continue
			}
			hostname := ""
			if e.Hostname != nil {
				hostname = strings.ToLower(*e.Hostname)
			}
			for _, a := range e.Addresses {
				ip := net.ParseIP(a)
				if ip == nil {
					continue
				}
				if i, dup := seen[ip.String()]; dup {
					// The same address in two slices: merge its ports.
					for _, p := range ports {
						if !slices.Contains(v.endpoints[i].ports, p) {
							v.endpoints[i].ports = append(v.endpoints[i].ports, p)
						}
					}
					continue
				}
				label := hostname
				if label == "" {
					label = dashed(ip)
				}
				seen[ip.String()] = len(v.endpoints)
				v.endpoints = append(v.endpoints, endpoint{label: label, ip: ip, ports: slices.Clone(ports)})
			}
		}
	}
	return v
}

func protocolOf(p corev1.Protocol) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(string(p))
}

// dashed is the DNS label for an IP: dots (IPv4) or colons (IPv6) replaced
// by dashes, as in 10-244-1-5 or fd00--5.
func dashed(ip net.IP) string {
	s := ip.String()
	if ip.To4() != nil {
		return strings.ReplaceAll(s, ".", "-")
	}
	return strings.ReplaceAll(s, ":", "-")
}

// lookup returns the view of one Service.
func (ix *index) lookup(namespace, name string) (*service, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	v, ok := ix.services[svcKey{namespace, name}]
	return v, ok
}

// namespaceKnown reports whether a namespace holds at least one Service.
func (ix *index) namespaceKnown(namespace string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.namespaces[namespace] > 0
}

// reverseNames returns the names (relative to the zone, without trailing
// dot) that own ip, sorted.
func (ix *index) reverseNames(ip net.IP) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []string
	for _, names := range ix.reverse[ip.String()] {
		out = append(out, names...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// currentSerial is the SOA serial: it grows with every index change.
func (ix *index) currentSerial() uint32 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.serial
}
