package fence

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

const setName = "allowed"

// TableName is the nftables table (family bridge) of the fence of bridge.
func TableName(bridge string) string { return "petset-fence-" + bridge }

// Fence is the fence of one pod bridge.
type Fence struct {
	bridge  string
	prefix  netip.Prefix
	gateway netip.Addr
	table   *nftables.Table
	set     *nftables.Set
}

// New returns the fence of bridge, whose pods have addresses in podCIDR
// and whose gateway (the bridge's own address) is the CIDR's first host.
// Ensure installs it.
func New(bridge, podCIDR string) (*Fence, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("fence: pod CIDR %q: %w", podCIDR, err)
	}
	if !p.Addr().Is4() {
		return nil, fmt.Errorf("fence: pod CIDR %q: only IPv4 is supported", podCIDR)
	}
	if bridge == "" || len(bridge) > unix.IFNAMSIZ-1 {
		return nil, fmt.Errorf("fence: bridge name %q must have 1 to 15 characters", bridge)
	}
	p = p.Masked()
	t := &nftables.Table{Family: nftables.TableFamilyBridge, Name: TableName(bridge)}
	return &Fence{
		bridge:  bridge,
		prefix:  p,
		gateway: p.Addr().Next(),
		table:   t,
		set:     &nftables.Set{Table: t, Name: setName, KeyType: nftables.TypeIPAddr, HasTimeout: true},
	}, nil
}

// Ensure creates the table, its set and chains, or rewrites the chains of
// an existing table, keeping the set's elements.
func (f *Fence) Ensure() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("fence: netlink: %w", err)
	}
	defer c.CloseLasting()
	c.AddTable(f.table)
	if err := c.AddSet(f.set, nil); err != nil {
		return fmt.Errorf("fence: set: %w", err)
	}
	chain := func(name string, hook *nftables.ChainHook) *nftables.Chain {
		ch := c.AddChain(&nftables.Chain{Name: name, Table: f.table, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityFilter})
		c.FlushChain(ch)
		return ch
	}
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	rule := func(ch *nftables.Chain, exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: f.table, Chain: ch, Exprs: exprs})
	}
	in := chain("input", nftables.ChainHookInput)
	fwd := chain("forward", nftables.ChainHookForward)
	out := chain("output", nftables.ChainHookOutput)
	const saddr, daddr = 12, 16
	rule(in, append(f.unknownPod(saddr), drop)...)
	rule(fwd, append(f.unknownPod(saddr), drop)...)
	rule(fwd, append(f.unknownPod(daddr), drop)...)
	rule(out, append(f.unknownPod(daddr), drop)...)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("fence: installing table %s: %w", f.table.Name, err)
	}
	return nil
}

// unknownPod matches an IPv4 packet whose address at offset (source 12,
// destination 16) is in the pod network, is not the gateway and is not in
// the set.
func (f *Fence) unknownPod(offset uint32) []expr.Any {
	mask := net.CIDRMask(f.prefix.Bits(), 32)
	network := f.prefix.Addr().As4()
	gw := f.gateway.As4()
	load := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(unix.ETH_P_IP)},
		load,
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: network[:]},
		load,
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: gw[:]},
		&expr.Lookup{SourceRegister: 1, SetName: f.set.Name, SetID: f.set.ID, Invert: true},
	}
}

// Allow makes the set hold exactly the given addresses, each allowed for
// its duration from now (rounded down to the millisecond; durations under
// a millisecond, and addresses outside the pod network, are left out).
func (f *Fence) Allow(allowed map[netip.Addr]time.Duration) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("fence: netlink: %w", err)
	}
	defer c.CloseLasting()
	c.FlushSet(f.set)
	if elems := f.elements(allowed); len(elems) > 0 {
		if err := c.SetAddElements(f.set, elems); err != nil {
			return fmt.Errorf("fence: elements: %w", err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("fence: writing set: %w", err)
	}
	return nil
}

// Add allows addresses for their durations from now, beside what the set
// holds (an address already in it gets the new duration).
func (f *Fence) Add(allowed map[netip.Addr]time.Duration) error {
	elems := f.elements(allowed)
	if len(elems) == 0 {
		return nil
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("fence: netlink: %w", err)
	}
	defer c.CloseLasting()
	// An element's timeout is set when it is created: delete and add in
	// one transaction (deleting an absent element would fail the batch, so
	// add it first).
	if err := c.SetAddElements(f.set, elems); err != nil {
		return fmt.Errorf("fence: elements: %w", err)
	}
	if err := c.SetDeleteElements(f.set, elems); err != nil {
		return fmt.Errorf("fence: elements: %w", err)
	}
	if err := c.SetAddElements(f.set, elems); err != nil {
		return fmt.Errorf("fence: elements: %w", err)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("fence: adding elements: %w", err)
	}
	return nil
}

func (f *Fence) elements(allowed map[netip.Addr]time.Duration) []nftables.SetElement {
	var out []nftables.SetElement
	for a, d := range allowed {
		if d < time.Millisecond || !a.Is4() || !f.prefix.Contains(a) {
			continue
		}
		k := a.As4()
		out = append(out, nftables.SetElement{Key: k[:], Timeout: d.Truncate(time.Millisecond)})
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].Key) < string(out[j].Key) })
	return out
}

// Allowed returns the addresses the set holds with the time each has left.
func (f *Fence) Allowed() (map[netip.Addr]time.Duration, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("fence: netlink: %w", err)
	}
	defer c.CloseLasting()
	elems, err := c.GetSetElements(f.set)
	if err != nil {
		return nil, fmt.Errorf("fence: reading set: %w", err)
	}
	out := make(map[netip.Addr]time.Duration, len(elems))
	for _, e := range elems {
		if a, ok := netip.AddrFromSlice(e.Key); ok {
			out[a] = e.Expires
		}
	}
	return out, nil
}

// Remove deletes the table; a missing table is no error.
func (f *Fence) Remove() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("fence: netlink: %w", err)
	}
	defer c.CloseLasting()
	c.AddTable(f.table)
	c.DelTable(f.table)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("fence: removing table %s: %w", f.table.Name, err)
	}
	return nil
}
