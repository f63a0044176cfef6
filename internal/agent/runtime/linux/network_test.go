package linux

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// Two nodes on one host with the same pod CIDR on two bridges: the kernel
// routes the whole CIDR through whichever bridge's route it finds first,
// so a connection meant for a pod of one node reaches the pod holding the
// same address on the other (seen as a pod proxy POST for kubia-1 landing
// on another cluster's kubia-2). The second node must refuse to start.
func TestPodCIDRInUseOnAnotherInterfaceIsRefused(t *testing.T) {
	requireRoot(t)
	first := newTestConfig(t)
	rt := startRuntime(t, first)
	sb := runSandbox(t, rt, "cidr-0")

	second := newTestConfig(t)
	second.PodCIDR = first.PodCIDR
	rt2, err := New(context.Background(), second)
	if err == nil {
		rt2.Close()
		t.Fatalf("a second runtime on bridge %s started with pod CIDR %s, already routed through %s", second.Bridge, second.PodCIDR, first.Bridge)
	}
	if !strings.Contains(err.Error(), first.Bridge) {
		t.Errorf("error does not name the interface holding the CIDR: %v", err)
	}
	if _, lerr := netlink.LinkByName(second.Bridge); lerr == nil {
		t.Errorf("the refused runtime left its bridge %s behind", second.Bridge)
	}
	// Only the first bridge routes the pod CIDR.
	ip := net.ParseIP(sb.IP)
	routes, err := netlink.RouteGet(ip)
	if err != nil || len(routes) == 0 {
		t.Fatalf("route to %s: %v", ip, err)
	}
	if l, err := netlink.LinkByIndex(routes[0].LinkIndex); err != nil || l.Attrs().Name != first.Bridge {
		t.Fatalf("route to pod %s goes via %v (%v), want %s", ip, l, err, first.Bridge)
	}

	// A runtime restarted over its own bridge (recovery_test.go) is not
	// refused: its own bridge's address and route do not count.
}

// A wider route through another interface (say 10.0.0.0/8 on the uplink)
// does not conflict: the bridge's more specific route wins.
func TestWiderRouteElsewhereIsAccepted(t *testing.T) {
	requireRoot(t)
	cfg := newTestConfig(t)
	dummy := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "psw" + randHex(4)}}
	if err := netlink.LinkAdd(dummy); err != nil {
		t.Fatal(err)
	}
	defer netlink.LinkDel(dummy)
	if err := netlink.LinkSetUp(dummy); err != nil {
		t.Fatal(err)
	}
	_, wide, _ := net.ParseCIDR("10.234.0.0/16")
	l, err := netlink.LinkByName(dummy.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: wide}); err != nil {
		t.Fatal(err)
	}
	rt := startRuntime(t, cfg)
	sb := runSandbox(t, rt, "wide-0")
	routes, err := netlink.RouteGet(net.ParseIP(sb.IP))
	if err != nil || len(routes) == 0 {
		t.Fatalf("route to %s: %v", sb.IP, err)
	}
	if bl, err := netlink.LinkByIndex(routes[0].LinkIndex); err != nil || bl.Attrs().Name != cfg.Bridge {
		t.Fatalf("route to pod %s goes via %v (%v), want %s", sb.IP, bl, err, cfg.Bridge)
	}
}
