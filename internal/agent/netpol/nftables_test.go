package netpol

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"petset/internal/testenv"
)

// testNode is a node network namespace with a pod bridge "npbr0"
// (gateway 10.98.0.1/24) and pods on it, each in its own namespace with a
// default route through the gateway and a TCP listener on port 7777 that
// answers every connection with its name. The calling goroutine's thread
// stays in the node namespace for the test's life.
type testNode struct {
	node netns.NsHandle
	pods map[string]netns.NsHandle
}

func newTestNode(t *testing.T, pods map[string]string) *testNode {
	t.Helper()
	testenv.RequireRoot(t, "network namespaces and nftables")
	runtime.LockOSThread() // never unlocked: the thread ends with the test's goroutine
	origin, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Set(origin); origin.Close() })
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	n := &testNode{pods: map[string]netns.NsHandle{}}
	for name := range pods {
		h, err := netns.New()
		must("pod namespace", err)
		t.Cleanup(func() { h.Close() })
		n.pods[name] = h
	}
	n.node, err = netns.New()
	must("node namespace", err)
	t.Cleanup(func() { n.node.Close() })

	// Now in the node namespace: bridged IPv4 passes the ip hooks there.
	if b, err := os.ReadFile(bridgeNFCallIPTables); err != nil || strings.TrimSpace(string(b)) != "1" {
		must("br_netfilter", os.WriteFile(bridgeNFCallIPTables, []byte("1"), 0o644))
	}
	must("forwarding", os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644))
	lo, _ := netlink.LinkByName("lo")
	must("lo up", netlink.LinkSetUp(lo))
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "npbr0"}}
	must("bridge", netlink.LinkAdd(br))
	must("bridge address", netlink.AddrAdd(br, &netlink.Addr{IPNet: ipNet("10.98.0.1/24")}))
	must("bridge up", netlink.LinkSetUp(br))
	i := 0
	for name, addr := range pods {
		i++
		host, peerName := fmt.Sprintf("npv%d", i), fmt.Sprintf("npv%dp", i)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host, MasterIndex: br.Index}, PeerName: peerName}
		must("veth", netlink.LinkAdd(veth))
		must("veth up", netlink.LinkSetUp(veth))
		peer, err := netlink.LinkByName(peerName)
		must("veth peer", err)
		pod := n.pods[name]
		must("veth peer to pod", netlink.LinkSetNsFd(peer, int(pod)))
		h, err := netlink.NewHandleAt(pod)
		must("pod netlink", err)
		plo, _ := h.LinkByName("lo")
		must("pod lo up", h.LinkSetUp(plo))
		eth, err := h.LinkByName(peerName)
		must("pod eth", err)
		must("pod address", h.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(addr + "/24")}))
		must("pod eth up", h.LinkSetUp(eth))
		must("pod route", h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: net.ParseIP("10.98.0.1")}))
		h.Close()

		must("enter pod", netns.Set(pod))
		l, err := net.Listen("tcp", addr+":7777")
		must("enter node", netns.Set(n.node))
		must("pod listener", err)
		t.Cleanup(func() { l.Close() })
		go serve(l, name)
	}
	// The node's own listener on the gateway.
	l, err := net.Listen("tcp", "10.98.0.1:7777")
	must("node listener", err)
	t.Cleanup(func() { l.Close() })
	go serve(l, "node")
	return n
}

func serve(l net.Listener, name string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(name))
		c.Close()
	}
}

// dial connects from a pod's namespace ("" for the node) to addr and
// returns who answered, "" when nobody did.
func (n *testNode) dial(t *testing.T, from, addr string) string {
	t.Helper()
	if from != "" {
		if err := netns.Set(n.pods[from]); err != nil {
			t.Fatal(err)
		}
		defer netns.Set(n.node)
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	buf := make([]byte, 16)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	k, _ := c.Read(buf)
	return string(buf[:k])
}

// ipNet is an address with its network's mask.
func ipNet(s string) *net.IPNet {
	n, err := netlink.ParseIPNet(s)
	if err != nil {
		panic(err)
	}
	return n
}

// TestTableAllowsAndRefuses: in real namespaces, a pod isolated for
// ingress answers only the peers and port its rules allow (the node
// always), and a pod isolated for egress reaches only what its rules allow,
// with the replies of its allowed connections.
func TestTableAllowsAndRefuses(t *testing.T) {
	n := newTestNode(t, map[string]string{"client": "10.98.0.2", "server": "10.98.0.3", "other": "10.98.0.4"})
	const server, node = "10.98.0.3:7777", "10.98.0.1:7777"
	// A new bridge port may take a moment to forward; the bound only ends a
	// broken test.
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		return n.dial(t, "client", server) == "server" && n.dial(t, "other", server) == "server", nil
	}); err != nil {
		t.Fatalf("the pods do not reach each other before any policy: %v", err)
	}
	tb := NewTable("npbr0")
	t.Cleanup(func() { tb.Remove() })
	ip := netip.MustParseAddr
	client := Range{ip("10.98.0.2"), ip("10.98.0.2")}

	// Ingress: the server admits the client on TCP 7777 only.
	if err := tb.Install(Rules{
		Sets: []Set{{Name: "peers-0", Ranges: []Range{client}}},
		Pods: []PodRules{{Pod: "ns/server", IP: ip("10.98.0.3"), Ingress: []Match{{Set: "peers-0", Proto: corev1.ProtocolTCP, PortFrom: 7000, PortTo: 7999}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := n.dial(t, "client", server); got != "server" {
		t.Fatalf("allowed client got %q from the server", got)
	}
	if got := n.dial(t, "other", server); got != "" {
		t.Errorf("a pod no rule allows got %q from the server", got)
	}
	if got := n.dial(t, "", server); got != "server" {
		t.Errorf("the node got %q from an ingress-isolated pod, want its answer", got)
	}

	// A port outside the rule's range: the client is refused too.
	if err := tb.Install(Rules{
		Sets: []Set{{Name: "peers-0", Ranges: []Range{client}}},
		Pods: []PodRules{{Pod: "ns/server", IP: ip("10.98.0.3"), Ingress: []Match{{Set: "peers-0", Proto: corev1.ProtocolTCP, PortFrom: 80, PortTo: 80}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := n.dial(t, "other", node); got != "node" {
		t.Fatalf("an unisolated pod got %q from the node", got)
	}
	if got := n.dial(t, "client", server); got != "" {
		t.Errorf("client got %q on a port the rule does not name", got)
	}

	// Egress: the client may reach the server's port and nothing else (the
	// node's listener included); the server is not isolated.
	if err := tb.Install(Rules{
		Sets: []Set{{Name: "peers-0", Ranges: []Range{{ip("10.98.0.3"), ip("10.98.0.3")}}}},
		Pods: []PodRules{{Pod: "ns/client", IP: ip("10.98.0.2"), Egress: []Match{{Set: "peers-0", Proto: corev1.ProtocolTCP, PortFrom: 7777, PortTo: 7777}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := n.dial(t, "client", server); got != "server" {
		t.Fatalf("egress-allowed connection got %q (the reply must pass)", got)
	}
	if got := n.dial(t, "client", "10.98.0.4:7777"); got != "" {
		t.Errorf("client reached another pod (%q) its egress does not allow", got)
	}
	if got := n.dial(t, "client", node); got != "" {
		t.Errorf("client reached the node (%q) its egress does not allow", got)
	}
	if got := n.dial(t, "other", "10.98.0.2:7777"); got != "client" {
		t.Errorf("a pod got %q from an egress-only isolated pod, want its answer", got)
	}

	// An ipBlock of everything except the other pod (a range to the last
	// address has no end element).
	everythingBut := blockRanges(&networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.98.0.4/32"}})
	if err := tb.Install(Rules{
		Sets: []Set{{Name: "peers-0", Ranges: everythingBut}},
		Pods: []PodRules{{Pod: "ns/client", IP: ip("10.98.0.2"), Egress: []Match{{Set: "peers-0"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := n.dial(t, "client", node); got != "node" {
		t.Fatalf("client got %q from the node inside its ipBlock", got)
	}
	if got := n.dial(t, "client", "10.98.0.4:7777"); got != "" {
		t.Errorf("client reached the excepted pod (%q)", got)
	}

	// No isolated pod: everything passes again; Remove twice is fine.
	if err := tb.Install(Rules{}); err != nil {
		t.Fatal(err)
	}
	if got := n.dial(t, "client", "10.98.0.4:7777"); got != "other" {
		t.Errorf("after an empty install client got %q from other", got)
	}
	if err := tb.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := tb.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}
