package netpol

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// TableName is the nftables table (family ip) of the policies of bridge.
func TableName(bridge string) string { return "petset-netpol-" + bridge }

// Table writes the rules of one bridge's pods into the node's network
// namespace.
type Table struct {
	t *nftables.Table
}

// NewTable returns the table of bridge; Install writes it.
func NewTable(bridge string) *Table {
	return &Table{t: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName(bridge)}}
}

// Install replaces the whole table by r in one netlink transaction: no
// packet sees a half-written rule set.
//
//	forward (filter): ct state established,related accept;
//	    ip saddr P jump egress-P (each local pod isolated for egress);
//	    ip daddr P jump ingress-P (each local pod isolated for ingress)
//	input (filter):   ct state established,related accept;
//	    ip saddr P jump egress-P (a pod's traffic to the node: DNS, relay)
//	egress-P:  each allowed match returns (on to the ingress check); drop
//	ingress-P: each allowed match accepts; drop
//
// The node's own traffic to its pods (output) is not filtered.
func (tb *Table) Install(r Rules) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netpol: netlink: %w", err)
	}
	defer c.CloseLasting()
	c.AddTable(tb.t)
	c.DelTable(tb.t)
	c.AddTable(tb.t)
	if len(r.Pods) == 0 {
		// Nothing isolated: an empty table, no hooks.
		return flush(c, tb.t)
	}
	sets := map[string]*nftables.Set{}
	for _, s := range r.Sets {
		set := &nftables.Set{Table: tb.t, Name: s.Name, KeyType: nftables.TypeIPAddr, Interval: true}
		if err := c.AddSet(set, elements(s.Ranges)); err != nil {
			return fmt.Errorf("netpol: set %s: %w", s.Name, err)
		}
		sets[s.Name] = set
	}
	base := func(name string, hook *nftables.ChainHook) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: tb.t, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityFilter})
	}
	forward := base("forward", nftables.ChainHookForward)
	input := base("input", nftables.ChainHookInput)
	rule := func(ch *nftables.Chain, exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: tb.t, Chain: ch, Exprs: exprs})
	}
	established := []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
	rule(forward, established...)
	rule(input, established...)
	jump := func(to string) expr.Any { return &expr.Verdict{Kind: expr.VerdictJump, Chain: to} }
	// perPod adds a pod's chain for one direction: each match ends in
	// verdict, anything else is dropped; hooks jump to it for the pod's
	// address at offset.
	perPod := func(name string, ms []Match, peer uint32, verdict expr.VerdictKind, pod [4]byte, offset uint32, hooks ...*nftables.Chain) {
		ch := c.AddChain(&nftables.Chain{Name: name, Table: tb.t})
		for _, m := range ms {
			rule(ch, append(match(m, peer, sets), &expr.Verdict{Kind: verdict})...)
		}
		rule(ch, &expr.Verdict{Kind: expr.VerdictDrop})
		for _, h := range hooks {
			rule(h, append(addrIs(offset, pod), jump(ch.Name))...)
		}
	}
	// Egress first: its chains return to the hook, on to the ingress check.
	for _, p := range r.Pods {
		if p.Egress != nil {
			perPod("egress-"+p.IP.String(), p.Egress, daddr, expr.VerdictReturn, p.IP.As4(), saddr, forward, input)
		}
	}
	for _, p := range r.Pods {
		if p.Ingress != nil {
			perPod("ingress-"+p.IP.String(), p.Ingress, saddr, expr.VerdictAccept, p.IP.As4(), daddr, forward)
		}
	}
	return flush(c, tb.t)
}

// Remove deletes the table; a missing table is no error.
func (tb *Table) Remove() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netpol: netlink: %w", err)
	}
	defer c.CloseLasting()
	c.AddTable(tb.t)
	c.DelTable(tb.t)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netpol: removing table %s: %w", tb.t.Name, err)
	}
	return nil
}

func flush(c *nftables.Conn, t *nftables.Table) error {
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netpol: installing table %s: %w", t.Name, err)
	}
	return nil
}

// Offsets of the IPv4 source and destination addresses.
const saddr, daddr = 12, 16

func addrIs(offset uint32, a [4]byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

// match is the peer address (at offset) in m's set, then m's protocol and
// destination port range.
func match(m Match, offset uint32, sets map[string]*nftables.Set) []expr.Any {
	var out []expr.Any
	if m.Set != "" {
		s := sets[m.Set]
		out = append(out,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID})
	}
	if m.Proto != "" {
		out = append(out,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{ipProto(m.Proto)}})
	}
	if m.PortFrom != 0 {
		out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
		if m.PortFrom == m.PortTo {
			out = append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(m.PortFrom)})
		} else {
			out = append(out, &expr.Range{Op: expr.CmpOpEq, Register: 1,
				FromData: binaryutil.BigEndian.PutUint16(m.PortFrom), ToData: binaryutil.BigEndian.PutUint16(m.PortTo)})
		}
	}
	return out
}

func ipProto(p corev1.Protocol) byte {
	switch p {
	case corev1.ProtocolUDP:
		return unix.IPPROTO_UDP
	case corev1.ProtocolSCTP:
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}

// elements are an interval set's elements: each range's first address and,
// marked as an interval end, the address after its last (none after
// 255.255.255.255).
func elements(rs []Range) []nftables.SetElement {
	var out []nftables.SetElement
	for _, r := range rs {
		from := r.From.As4()
		out = append(out, nftables.SetElement{Key: from[:]})
		if next := r.To.Next(); next.IsValid() {
			end := next.As4()
			out = append(out, nftables.SetElement{Key: end[:], IntervalEnd: true})
		}
	}
	return out
}
