// Package dns owns petset's cluster DNS server: the records of the
// cluster zone (cluster.local by default) computed from Services and
// EndpointSlices, served over UDP and TCP with github.com/miekg/dns.
//
// Records follow the Kubernetes DNS-based service discovery specification
// (schema 1.1.0) and the behaviour of CoreDNS' kubernetes plugin:
//
//   - <svc>.<ns>.svc.<zone> A/AAAA: the cluster IPs, or for a headless
//     Service the addresses of its served endpoints.
//   - <hostname>.<svc>.<ns>.svc.<zone> A/AAAA: one endpoint. An endpoint
//     without a hostname is named by its address with dashes (10-0-0-5).
//   - _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV and the bare
//     <svc>.<ns>.svc.<zone> SRV (every port): one record per endpoint and
//     port for headless Services (target the endpoint's name, port the
//     endpoint port), one per Service port otherwise (target the Service
//     name). Priority 0, equal weights of 100/n, as CoreDNS; the targets'
//     addresses go in the additional section.
//   - <a-b-c-d>.<ns>.pod.<zone> A (and the IPv6 dashed form as AAAA), as
//     CoreDNS' "pods insecure" mode.
//   - PTR for cluster IPs and endpoint addresses (in-addr.arpa, ip6.arpa).
//   - ExternalName Services as CNAME; dns-version.<zone> TXT "1.1.0".
//
// "Served endpoints" are those whose EndpointSlice condition ready is true
// or unset; with spec.publishNotReadyAddresses every endpoint is served.
// A name in the zone that does not exist is NXDOMAIN (a headless Service
// with no served endpoint too, as in CoreDNS); a name that exists without
// records of the asked type is NODATA; both carry the zone SOA in the
// authority section. Names outside the zone (and reverse names of unknown
// addresses) are forwarded to Config.Forward with a per-upstream timeout
// (SERVFAIL when all fail) or, with no upstream, answered REFUSED.
//
// The package does not own the informers (the caller creates and starts
// them) nor the pods' resolv.conf (the node agent writes it).
//
// Concurrency: New registers event handlers that update an index under a
// RWMutex; Run owns the listeners and the miekg/dns servers, whose
// goroutines answer queries concurrently, reading the index under the read
// lock. Run returns after all of its goroutines have stopped.
package dns
