package harness

import (
	"net"
	"testing"
)

// The routes read from /proc/net/route include the ones of this machine's
// interfaces' networks, and a picked pod CIDR touches none of them.
func TestFreePodCIDRAvoidsRoutes(t *testing.T) {
	routes := hostRoutes(t)
	cidr, first := freePodCIDR(t)
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Contains(net.ParseIP(first)) {
		t.Fatalf("first address %s not in %s", first, cidr)
	}
	for _, r := range routes {
		if r.Contains(n.IP) || n.Contains(r.IP) {
			t.Fatalf("picked %s overlaps route %s", cidr, r)
		}
	}
	if got := serviceCIDRFor(cidr); got == "" {
		t.Fatalf("no service CIDR for %s", cidr)
	}
}
