package harness

import (
	"net"
	"sync"
	"testing"

	mdns "github.com/miekg/dns"
)

// upstreamDNS is the resolver every `petset up` of the tests forwards to
// (--dns-forward) instead of the host's: a server on loopback that answers
// every name outside cluster.local with NXDOMAIN, so pods' lookups never
// leave the machine and the cluster DNS still offers recursion (RA), as
// with CoreDNS' forward plugin.
var upstreamDNS struct {
	once sync.Once
	addr string
	err  error
}

// loopbackUpstreamDNS starts the shared upstream on first use and returns
// its address (ip:port, the same port for UDP and TCP).
func loopbackUpstreamDNS(t testing.TB) string {
	t.Helper()
	upstreamDNS.once.Do(func() {
		handler := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
			m := new(mdns.Msg)
			m.SetRcode(r, mdns.RcodeNameError)
			m.RecursionAvailable = true
			_ = w.WriteMsg(m)
		})
		for range 20 {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				upstreamDNS.err = err
				return
			}
			ln, err := net.Listen("tcp", pc.LocalAddr().String())
			if err != nil {
				pc.Close()
				upstreamDNS.err = err
				continue
			}
			// Served until the test binary exits: one for all tests.
			go func() { _ = (&mdns.Server{PacketConn: pc, Handler: handler}).ActivateAndServe() }()
			go func() { _ = (&mdns.Server{Listener: ln, Handler: handler}).ActivateAndServe() }()
			upstreamDNS.addr, upstreamDNS.err = pc.LocalAddr().String(), nil
			return
		}
	})
	if upstreamDNS.err != nil {
		t.Fatalf("loopback upstream DNS: %v", upstreamDNS.err)
	}
	return upstreamDNS.addr
}
