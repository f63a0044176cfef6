package linux

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
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

// A pod that gets an address its previous owner just gave up must be
// reachable at once from the host and from the other pods: the next owner
// has the MAC derived from the address, the host's neighbour entry is set
// to it and a gratuitous ARP from the pod corrects the other pods' entries
// (planted here with another MAC, as the previous owner's random MAC was).
func TestReusedAddressIsAnnounced(t *testing.T) {
	requireRoot(t)
	cfg := newTestConfig(t)
	rt := startRuntime(t, cfg)
	a := runSandbox(t, rt, "neigh-a") // keeps the bridge up, as another pod does
	_, subnet, _ := net.ParseCIDR(cfg.PodCIDR)
	next := nextIP(subnet.IP, 3) // the address the next sandbox gets
	if a.IP == next.String() {
		t.Fatalf("neigh-a got %s, expected the first pod address", a.IP)
	}
	stale, _ := net.ParseMAC("02:00:5e:00:00:01")
	br, err := netlink.LinkByName(cfg.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: br.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_REACHABLE, IP: next, HardwareAddr: stale}); err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	apid := rt.sandboxes[a.UID].rec.InitPID
	rt.mu.Unlock()
	ans, err := netns.GetFromPid(apid)
	if err != nil {
		t.Fatal(err)
	}
	defer ans.Close()
	ah, err := netlink.NewHandleAt(ans)
	if err != nil {
		t.Fatal(err)
	}
	defer ah.Close()
	aeth, err := ah.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ah.NeighSet(&netlink.Neigh{LinkIndex: aeth.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_REACHABLE, IP: next, HardwareAddr: stale}); err != nil {
		t.Fatal(err)
	}

	b := runSandbox(t, rt, "neigh-b")
	if b.IP != next.String() {
		t.Fatalf("neigh-b got %s, want %s", b.IP, next)
	}
	want := podMAC(next).String()
	rt.mu.Lock()
	bpid := rt.sandboxes[b.UID].rec.InitPID
	rt.mu.Unlock()
	bns, err := netns.GetFromPid(bpid)
	if err != nil {
		t.Fatal(err)
	}
	defer bns.Close()
	bh, err := netlink.NewHandleAt(bns)
	if err != nil {
		t.Fatal(err)
	}
	defer bh.Close()
	beth, err := bh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if got := beth.Attrs().HardwareAddr.String(); got != want {
		t.Errorf("neigh-b's eth0 has MAC %s, want %s (derived from %s)", got, want, next)
	}
	// The host's entry is set before RunSandbox returns.
	if got := neighMAC(t, netlink.NeighList, br.Attrs().Index, next); got != want {
		t.Errorf("host neighbour entry for %s on %s: %q, want %s", next, cfg.Bridge, got, want)
	}
	// neigh-a learns from the gratuitous ARP, which the kernel delivers
	// asynchronously: wait for it, bounded.
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = neighMAC(t, ah.NeighList, aeth.Attrs().Index, next); got == want {
			break
		}
	}
	if got != want {
		t.Errorf("neigh-a's neighbour entry for %s: %q, want %s (no gratuitous ARP from neigh-b?)", next, got, want)
	}
}

func neighMAC(t *testing.T, list func(int, int) ([]netlink.Neigh, error), index int, ip net.IP) string {
	t.Helper()
	ns, err := list(index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.IP.Equal(ip) {
			return n.HardwareAddr.String()
		}
	}
	return ""
}

// An agent put into a network namespace of its own without a /sys of its
// own (`nsenter --net`, docs/nodes.md "Several nodes on one machine") sees
// the host's sysfs, where its pod bridge's ports do not exist: the port's
// state comes from netlink in the agent's namespace.
func TestBridgePortForwardsInNamespaceWithoutOwnSysfs(t *testing.T) {
	requireRoot(t)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // this thread only; /sys stays the host's
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ns.Close()
		if err := netns.Set(orig); err != nil {
			t.Errorf("back to the test's network namespace: %v", err)
			return // the thread stays locked and ends with the test
		}
		runtime.UnlockOSThread()
	}()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "port0"}, PeerName: "peer0"}
	for _, l := range []netlink.Link{br, veth} {
		if err := netlink.LinkAdd(l); err != nil {
			t.Fatalf("add %s: %v", l.Attrs().Name, err)
		}
	}
	if err := netlink.LinkSetMaster(veth, br); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"br0", "port0", "peer0"} {
		l, err := netlink.LinkByName(name)
		if err == nil {
			err = netlink.LinkSetUp(l)
		}
		if err != nil {
			t.Fatalf("set %s up: %v", name, err)
		}
	}
	if err := waitForwarding("port0", 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
