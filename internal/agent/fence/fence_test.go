package fence

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"petset/internal/testenv"
)

// testNode is a node network namespace with a pod bridge (gateway
// 10.99.0.1/24) and one pod namespace on it at 10.99.0.2 whose listener
// answers every connection with "pod". The calling goroutine is locked to
// a thread that stays in the node namespace for the test's life.
type testNode struct {
	node, pod netns.NsHandle
	podAddr   netip.Addr
}

func newTestNode(t *testing.T) *testNode {
	t.Helper()
	testenv.RequireRoot(t, "network namespaces and nftables")
	runtime.LockOSThread() // never unlocked: the thread ends with the test's goroutine
	origin, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Set(origin); origin.Close() })
	pod, err := netns.New()
	if err != nil {
		t.Fatalf("pod namespace: %v", err)
	}
	t.Cleanup(func() { pod.Close() })
	node, err := netns.New()
	if err != nil {
		t.Fatalf("node namespace: %v", err)
	}
	t.Cleanup(func() { node.Close() })
	n := &testNode{node: node, pod: pod, podAddr: netip.MustParseAddr("10.99.0.2")}

	// Now in the node namespace.
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	lo, _ := netlink.LinkByName("lo")
	must("lo up", netlink.LinkSetUp(lo))
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "fbr0"}}
	must("bridge", netlink.LinkAdd(br))
	must("bridge address", netlink.AddrAdd(br, &netlink.Addr{IPNet: mustNet("10.99.0.1/24")}))
	must("bridge up", netlink.LinkSetUp(br))
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "fv0", MasterIndex: br.Index}, PeerName: "fv0p"}
	must("veth", netlink.LinkAdd(veth))
	must("veth up", netlink.LinkSetUp(veth))
	peer, err := netlink.LinkByName("fv0p")
	must("veth peer", err)
	must("veth peer to pod", netlink.LinkSetNsFd(peer, int(pod)))

	h, err := netlink.NewHandleAt(pod)
	must("pod netlink", err)
	defer h.Close()
	plo, _ := h.LinkByName("lo")
	must("pod lo up", h.LinkSetUp(plo))
	eth, err := h.LinkByName("fv0p")
	must("pod eth", err)
	must("pod address", h.AddrAdd(eth, &netlink.Addr{IPNet: mustNet("10.99.0.2/24")}))
	must("pod eth up", h.LinkSetUp(eth))

	// The pod's listener: its socket is made in the pod namespace.
	must("enter pod", netns.Set(pod))
	l, err := net.Listen("tcp", "10.99.0.2:7777")
	must("enter node", netns.Set(node))
	if err != nil {
		t.Fatalf("pod listener: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("pod"))
			c.Close()
		}
	}()
	return n
}

// podReachesGateway dials, from the pod's namespace, a listener of the node
// on the bridge's address.
func (n *testNode) podReachesGateway(t *testing.T) bool {
	t.Helper()
	l, err := net.Listen("tcp", "10.99.0.1:0")
	if err != nil {
		t.Fatalf("node listener: %v", err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("node"))
			c.Close()
		}
	}()
	if err := netns.Set(n.pod); err != nil {
		t.Fatal(err)
	}
	defer netns.Set(n.node)
	c, err := net.DialTimeout("tcp", l.Addr().String(), 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(time.Second))
	k, _ := c.Read(buf)
	return string(buf[:k]) == "node"
}

func mustNet(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	n.IP = ip
	return n
}

// reach dials the pod from the node namespace (the calling thread) and
// reports whether the pod answered.
func reach() bool {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", "10.99.0.2:7777")
	if err != nil {
		return false
	}
	defer c.Close()
	buf := make([]byte, 3)
	c.SetReadDeadline(time.Now().Add(time.Second))
	n, _ := c.Read(buf)
	return string(buf[:n]) == "pod"
}

// waitFor polls cond until it holds; the bound only ends a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestFenceGatesPodTraffic(t *testing.T) {
	n := newTestNode(t)
	// A new bridge port may take a moment to forward.
	waitFor(t, "the pod to answer before any fence", reach)
	f, err := New("fbr0", "10.99.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Ensure(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	if reach() {
		t.Fatal("the pod answers behind a fence that allows nothing")
	}
	if n.podReachesGateway(t) {
		t.Fatal("a fenced pod reaches its node")
	}

	// Allowed for a while: it answers; when the element expires in the
	// kernel, with nobody acting, it stops.
	if err := f.Allow(map[netip.Addr]time.Duration{n.podAddr: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got, err := f.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if left, ok := got[n.podAddr]; !ok || left <= 0 || left > 6*time.Second {
		t.Fatalf("Allowed() = %v, want %v with at most 6s left", got, n.podAddr)
	}
	if !reach() {
		t.Fatal("an allowed pod does not answer")
	}
	if !n.podReachesGateway(t) {
		t.Fatal("an allowed pod does not reach its node")
	}
	waitFor(t, "the element to expire and the pod to stop answering", func() bool { return !reach() })
	if got, _ := f.Allowed(); len(got) != 0 {
		t.Errorf("after expiry Allowed() = %v, want nothing", got)
	}

	// Add refreshes an element; Allow replaces the set (a missing pod loses
	// its permission at once).
	if err := f.Add(map[netip.Addr]time.Duration{n.podAddr: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(map[netip.Addr]time.Duration{n.podAddr: time.Hour}); err != nil {
		t.Fatalf("Add of an address the set holds: %v", err)
	}
	if !reach() {
		t.Fatal("the pod does not answer after Add")
	}
	if err := f.Allow(map[netip.Addr]time.Duration{netip.MustParseAddr("10.99.0.3"): time.Hour}); err != nil {
		t.Fatal(err)
	}
	if reach() {
		t.Fatal("the pod answers after an Allow that left it out")
	}

	// Ensure again (an agent's restart) keeps the elements.
	if err := f.Allow(map[netip.Addr]time.Duration{n.podAddr: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := f.Ensure(); err != nil {
		t.Fatal(err)
	}
	if !reach() {
		t.Fatal("Ensure of an existing fence dropped its elements")
	}
	// Removing the table opens the way.
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if !reach() {
		t.Fatal("the pod does not answer once the fence is removed")
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ bridge, cidr string }{
		{"br0", "fd00::/64"},
		{"br0", "10.0.0.0"},
		{"", "10.0.0.0/24"},
		{"a-bridge-name-too-long", "10.0.0.0/24"},
	} {
		if _, err := New(tc.bridge, tc.cidr); err == nil {
			t.Errorf("New(%q, %q) succeeded", tc.bridge, tc.cidr)
		}
	}
}
