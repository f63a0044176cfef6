package linux

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"petset/internal/logging"
)

// network is the node's pod network: one bridge holding the gateway, a veth
// pair per pod, addresses claimed as files so they survive restarts.
type network struct {
	bridge  string
	subnet  *net.IPNet
	gateway net.IP
	ipamDir string
	log     *slog.Logger
	mu      sync.Mutex // serialises address claims
}

func newNetwork(bridge, cidr, ipamDir string) (*network, error) {
	_, subnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	if subnet.IP.To4() == nil {
		return nil, fmt.Errorf("pod CIDR %q: only IPv4 is supported", cidr)
	}
	if ones, bits := subnet.Mask.Size(); bits-ones < 2 {
		return nil, fmt.Errorf("pod CIDR %q is too small", cidr)
	}
	if len(bridge) == 0 || len(bridge) > 15 {
		return nil, fmt.Errorf("bridge name %q must have 1 to 15 characters", bridge)
	}
	gw := nextIP(subnet.IP.To4(), 1)
	return &network{bridge: bridge, subnet: subnet, gateway: gw, ipamDir: ipamDir, log: slog.Default()}, nil
}

func nextIP(ip net.IP, n int) net.IP {
	out := make(net.IP, 4)
	copy(out, ip.To4())
	v := uint32(out[0])<<24 | uint32(out[1])<<16 | uint32(out[2])<<8 | uint32(out[3])
	v += uint32(n)
	out[0], out[1], out[2], out[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return out
}

func (n *network) prefixLen() int {
	ones, _ := n.subnet.Mask.Size()
	return ones
}

// ensureBridge creates the bridge with the gateway address, or completes
// an existing one. It fails when another interface of the host already has
// an address or a route in the pod CIDR: the kernel would then route pod
// traffic by whichever route it finds first, so connections meant for a pod
// of this node could reach a pod of another bridge holding the same
// address. What it created itself is removed again in that case.
func (n *network) ensureBridge() error {
	created := false
	link, err := netlink.LinkByName(n.bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("look up bridge %s: %w", n.bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.bridge}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create bridge %s: %w", n.bridge, err)
		} else if err == nil {
			created = true
		}
		if link, err = netlink.LinkByName(n.bridge); err != nil {
			return fmt.Errorf("look up bridge %s: %w", n.bridge, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s exists and is a %s, not a bridge", n.bridge, link.Type())
	}
	// Checked before and after adding the gateway: of two nodes setting up
	// the same CIDR at once, the later one sees the other's address.
	if err := n.checkExclusive(link.Attrs().Index); err != nil {
		if created {
			netlink.LinkDel(link)
		}
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.gateway, Mask: n.subnet.Mask}}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", n.bridge, err)
	}
	have := false
	for _, a := range addrs {
		have = have || a.IP.Equal(n.gateway)
	}
	if !have {
		if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("add %s to %s: %w", addr, n.bridge, err)
		}
		if err := n.checkExclusive(link.Attrs().Index); err != nil {
			if created {
				netlink.LinkDel(link)
			} else {
				netlink.AddrDel(link, addr)
			}
			return err
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up %s: %w", n.bridge, err)
	}
	return nil
}

// checkExclusive returns an error when an interface other than the one
// with index own has an IPv4 address inside the pod CIDR, or a route to
// the pod CIDR or a part of it. Wider routes (say 10.0.0.0/8 on the
// uplink) are harmless: the bridge's more specific route wins.
func (n *network) checkExclusive(own int) error {
	ours, _ := n.subnet.Mask.Size()
	name := func(index int) string {
		if l, err := netlink.LinkByIndex(index); err == nil {
			return l.Attrs().Name
		}
		return fmt.Sprintf("interface %d", index)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		if a.LinkIndex != own && a.IPNet != nil && n.subnet.Contains(a.IP) {
			return fmt.Errorf("pod CIDR %s overlaps %s on %s: pod traffic would be misrouted; choose another pod CIDR", n.subnet, a.IPNet, name(a.LinkIndex))
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list host routes: %w", err)
	}
	for _, r := range routes {
		if r.LinkIndex == own || r.Dst == nil {
			continue
		}
		if ones, _ := r.Dst.Mask.Size(); ones >= ours && n.subnet.Contains(r.Dst.IP) {
			return fmt.Errorf("pod CIDR %s overlaps the route to %s via %s: pod traffic would be misrouted; choose another pod CIDR", n.subnet, r.Dst, name(r.LinkIndex))
		}
	}
	return nil
}

// allocate claims an address for uid, returning the one it already holds
// if any.
func (n *network) allocate(uid string) (net.IP, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip := n.lookup(uid); ip != nil {
		return ip, nil
	}
	ones, bits := n.subnet.Mask.Size()
	size := 1 << (bits - ones)
	for i := 2; i < size-1; i++ {
		ip := nextIP(n.subnet.IP, i)
		f, err := os.OpenFile(filepath.Join(n.ipamDir, ip.String()), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", ip, err)
		}
		_, werr := f.WriteString(uid)
		cerr := f.Close()
		if err := errors.Join(werr, cerr); err != nil {
			os.Remove(f.Name())
			return nil, fmt.Errorf("claim %s: %w", ip, err)
		}
		return ip, nil
	}
	return nil, fmt.Errorf("pod network %s has no free address", n.subnet)
}

// lookup returns the address claimed by uid in this subnet, if any.
func (n *network) lookup(uid string) net.IP {
	ents, _ := os.ReadDir(n.ipamDir)
	for _, e := range ents {
		ip := net.ParseIP(e.Name())
		if ip == nil || !n.subnet.Contains(ip) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(n.ipamDir, e.Name()))
		if err == nil && strings.TrimSpace(string(b)) == uid {
			return ip.To4()
		}
	}
	return nil
}

// release frees ip if uid holds it.
func (n *network) release(uid, ip string) {
	if ip == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p := filepath.Join(n.ipamDir, ip)
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == uid {
		os.Remove(p)
	}
}

func vethName(uid string) string {
	s := sha256.Sum256([]byte(uid))
	return "veth" + hex.EncodeToString(s[:5])
}

// attach plugs the network namespace of pid into the bridge with ip.
func (n *network) attach(uid string, pid int, ip net.IP) (string, error) {
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return "", fmt.Errorf("look up bridge %s: %w", n.bridge, err)
	}
	host := vethName(uid)
	if old, err := netlink.LinkByName(host); err == nil {
		netlink.LinkDel(old) // left over from a sandbox that died
	}
	mac := podMAC(ip)
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:         "eth0",
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsPid(pid),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return "", fmt.Errorf("create veth %s: %w", host, err)
	}
	fail := func(err error) (string, error) {
		if l, e := netlink.LinkByName(host); e == nil {
			netlink.LinkDel(l)
		}
		return "", err
	}
	hl, err := netlink.LinkByName(host)
	if err != nil {
		return fail(fmt.Errorf("look up veth %s: %w", host, err))
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return fail(fmt.Errorf("bring up %s: %w", host, err))
	}
	// Hairpin on the bridge port (kubelet's --hairpin-mode=hairpin-veth):
	// with br_netfilter a pod's packet to a Service IP that the service
	// proxy sends back to the same pod is bridged out of the port it came
	// in by, which a bridge does only in hairpin mode.
	if err := netlink.LinkSetHairpin(hl, true); err != nil {
		return fail(fmt.Errorf("hairpin mode on %s: %w", host, err))
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fail(fmt.Errorf("open network namespace of pid %d: %w", pid, err))
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fail(fmt.Errorf("netlink in pod namespace: %w", err))
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fail(fmt.Errorf("pod loopback: %w", err))
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fail(fmt.Errorf("bring up pod loopback: %w", err))
	}
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return fail(fmt.Errorf("pod eth0: %w", err))
	}
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: n.subnet.Mask}}); err != nil {
		return fail(fmt.Errorf("address pod eth0: %w", err))
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fail(fmt.Errorf("bring up pod eth0: %w", err))
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: n.gateway}); err != nil {
		return fail(fmt.Errorf("default route in pod: %w", err))
	}
	// Best effort, as CNI's bridge plugin: the MAC derived from the address
	// already keeps neighbour entries of a reused address right.
	if err := n.announce(br, host, ns, ip, mac); err != nil {
		n.log.Warn("could not announce the pod's address; hosts that knew it under another MAC reach the pod only once their entry expires", "ip", ip, "mac", mac, logging.ErrKey, err)
	}
	return host, nil
}

// podMAC is the MAC address of the pod end of the veth holding ip:
// 0a:58 followed by the four bytes of the address, as ovn-kubernetes does.
// An address's next owner thus has the MAC of its previous one, so a
// neighbour entry that the host or another pod still holds for it stays
// right (a random MAC left the old one in the host's table for up to a
// minute: base_reachable_time plus delay and probes). 0a is a locally
// administered unicast prefix.
func podMAC(ip net.IP) net.HardwareAddr {
	v4 := ip.To4()
	return net.HardwareAddr{0x0a, 0x58, v4[0], v4[1], v4[2], v4[3]}
}

// announce makes ip's new owner reachable at once, as CNI's bridge plugin
// does: it sets the host's neighbour entry on the bridge to mac (entries
// written by an earlier petset with random MACs, or by any other owner of
// the address) and sends a gratuitous ARP from the pod's eth0 so that the
// other pods on the bridge replace theirs too (Linux overrides an existing
// entry on a gratuitous ARP whatever arp_accept says).
//
// The bridge starts forwarding from the new port only once the kernel's
// link watcher has seen the veth's carrier, asynchronously and up to a
// second later; an announcement sent before that is dropped, so it waits
// for the port to forward first.
func (n *network) announce(br netlink.Link, hostVeth string, podNS netns.NsHandle, ip net.IP, mac net.HardwareAddr) error {
	err := netlink.NeighSet(&netlink.Neigh{
		LinkIndex:    br.Attrs().Index,
		Family:       netlink.FAMILY_V4,
		State:        netlink.NUD_STALE,
		IP:           ip,
		HardwareAddr: mac,
	})
	if err != nil {
		return fmt.Errorf("set neighbour entry %s -> %s on %s: %w", ip, mac, n.bridge, err)
	}
	if err := waitForwarding(hostVeth, 5*time.Second); err != nil {
		return err
	}
	return inNetNS(podNS, func() error { return gratuitousARP("eth0", ip) })
}

// brForwarding is BR_STATE_FORWARDING, a bridge port's state
// (IFLA_BRPORT_STATE).
const brForwarding = 3

// waitForwarding waits until the bridge forwards frames from port, polling
// its state (the kernel sends no event a caller could wait on here).
func waitForwarding(port string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		state, err := brportState(port)
		if err == nil && state == brForwarding {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bridge port %s does not forward after %s (state %d, %v)", port, bound, state, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// brportState is the bridge port's state as the kernel answers over
// netlink in the agent's network namespace. Not /sys/class/net/<port>/
// brport/state: sysfs shows the network namespace of whoever mounted it,
// which is not the agent's when the agent was put into a namespace of its
// own without a /sys of its own (`nsenter --net`, docs/nodes.md), and there
// the port is never found.
func brportState(port string) (uint8, error) {
	link, err := netlink.LinkByName(port)
	if err != nil {
		return 0, fmt.Errorf("bridge port %s: %w", port, err)
	}
	index := link.Attrs().Index
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, 0)
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return 0, fmt.Errorf("bridge ports: %w", err)
	}
	for _, m := range msgs {
		ifi := nl.DeserializeIfInfomsg(m)
		if int(ifi.Index) != index {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[ifi.Len():])
		if err != nil {
			return 0, fmt.Errorf("bridge port %s: %w", port, err)
		}
		for _, a := range attrs {
			if a.Attr.Type&^unix.NLA_F_NESTED != unix.IFLA_PROTINFO {
				continue
			}
			infos, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				return 0, fmt.Errorf("bridge port %s: %w", port, err)
			}
			for _, info := range infos {
				if info.Attr.Type == nl.IFLA_BRPORT_STATE && len(info.Value) > 0 {
					return info.Value[0], nil
				}
			}
		}
	}
	return 0, fmt.Errorf("bridge port %s: no state (not on a bridge?)", port)
}

// gratuitousARP broadcasts an ARP announcement of ip from the interface
// named ifname in the calling thread's network namespace: a request whose
// sender and target address are both ip (RFC 5227).
func gratuitousARP(ifname string, ip net.IP) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("gratuitous ARP: %w", err)
	}
	addr, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return fmt.Errorf("gratuitous ARP: %s is not an IPv4 address", ip)
	}
	c, err := arp.Dial(ifi)
	if err != nil {
		return fmt.Errorf("gratuitous ARP on %s: %w", ifname, err)
	}
	defer c.Close()
	p, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, addr, make(net.HardwareAddr, len(ifi.HardwareAddr)), addr)
	if err != nil {
		return fmt.Errorf("gratuitous ARP: %w", err)
	}
	if err := c.WriteTo(p, ethernet.Broadcast); err != nil {
		return fmt.Errorf("gratuitous ARP on %s: %w", ifname, err)
	}
	return nil
}

// inNetNS runs f on a thread switched into the network namespace ns. The
// thread is switched back afterwards; if that fails it stays locked, so
// the Go runtime ends it instead of reusing it in the wrong namespace.
func inNetNS(ns netns.NsHandle, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter pod network namespace: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("return to the host network namespace: %w", err))
			return // thread stays locked and is discarded with this goroutine
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// detach removes the host end of a pod's veth (the pod end goes with it).
func (n *network) detach(host string) {
	if host == "" {
		return
	}
	if l, err := netlink.LinkByName(host); err == nil {
		netlink.LinkDel(l)
	}
}
