package proxy

import (
	"encoding/binary"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// masqueradeMark is the packet mark of Service traffic to masquerade
// (kube-proxy's).
const masqueradeMark = 0x4000

// Kernel constants golang.org/x/sys lacks: conntrack's IPS_DST_NAT status
// bit and ICMP's port-unreachable code.
const (
	ipsDstNAT       = 1 << 5
	icmpPortUnreach = 3
)

// TableName is the nftables table (family ip) of the proxy of bridge.
func TableName(bridge string) string { return "petset-" + bridge }

// table builds the table's messages on conn: created if missing, deleted
// and created anew with every chain and rule, so that one Flush replaces
// it atomically.
type table struct {
	conn       *nftables.Conn
	t          *nftables.Table
	bridge     string
	dropOthers bool // drop forwarded bridge traffic no Service translated
}

func newTable(conn *nftables.Conn, bridge string, dropOthers bool) *table {
	return &table{conn: conn, bridge: bridge, dropOthers: dropOthers,
		t: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName(bridge)}}
}

// replace queues the replacement of the whole table by rules.
func (tb *table) replace(r Rules) {
	c := tb.conn
	c.AddTable(tb.t)
	c.DelTable(tb.t)
	c.AddTable(tb.t)
	chain := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: tb.t, Type: typ, Hooknum: hook, Priority: prio})
	}
	services := c.AddChain(&nftables.Chain{Name: "services", Table: tb.t})
	prerouting := chain("nat-prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	output := chain("nat-output", nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	postrouting := chain("nat-postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	filterPrio := nftables.ChainPriorityRef(-10)
	rejects := c.AddChain(&nftables.Chain{Name: "no-endpoints", Table: tb.t})
	filterInput := chain("filter-input", nftables.ChainTypeFilter, nftables.ChainHookInput, filterPrio)
	filterForward := chain("filter-forward", nftables.ChainTypeFilter, nftables.ChainHookForward, filterPrio)
	filterOutput := chain("filter-output", nftables.ChainTypeFilter, nftables.ChainHookOutput, filterPrio)

	jump := func(to string) expr.Any { return &expr.Verdict{Kind: expr.VerdictJump, Chain: to} }
	rule := func(ch *nftables.Chain, exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: tb.t, Chain: ch, Exprs: exprs})
	}
	// Pods' traffic (from the bridge) and the node's own.
	rule(prerouting, append(ifname(unix.NFT_META_IIFNAME, tb.bridge), jump("services"))...)
	rule(output, jump("services"))
	// Masquerade what a Service rule marked.
	rule(postrouting,
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: u32(masqueradeMark), Xor: u32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: u32(0)},
		&expr.Masq{})
	// Rejects for Services without endpoints, wherever the packet goes.
	rule(filterInput, jump("no-endpoints"))
	rule(filterOutput, jump("no-endpoints"))
	rule(filterForward, jump("no-endpoints"))
	if tb.dropOthers {
		// Leaving the bridge: with br_netfilter, traffic bridged between
		// pods passes this hook too, with the bridge as both interfaces.
		leaving := ifname(unix.NFT_META_OIFNAME, tb.bridge)
		leaving[1].(*expr.Cmp).Op = expr.CmpOpNeq
		rule(filterForward, append(append(ifname(unix.NFT_META_IIFNAME, tb.bridge), leaving...),
			&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: u32(ipsDstNAT), Xor: u32(0)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: u32(0)},
			&expr.Verdict{Kind: expr.VerdictDrop})...)
	}

	for _, s := range r.Services {
		match := serviceMatch(s)
		if len(s.Endpoints) == 0 {
			rule(rejects, append(match, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: icmpPortUnreach})...)
			continue
		}
		rule(services, append(match,
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: u32(^uint32(masqueradeMark)), Xor: u32(masqueradeMark)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})...)
		n := len(s.Endpoints)
		for i, e := range s.Endpoints {
			exprs := append([]expr.Any(nil), match...)
			if i < n-1 {
				exprs = append(exprs,
					&expr.Numgen{Register: 1, Modulus: uint32(n - i), Type: unix.NFT_NG_RANDOM},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: u32(0)})
			}
			exprs = append(exprs,
				&expr.Immediate{Register: 1, Data: e.IP.To4()},
				&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(e.Port)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true})
			rule(services, exprs...)
		}
	}
}

// remove queues the deletion of the table (created first, so that the
// deletion never fails for a missing table).
func (tb *table) remove() {
	tb.conn.AddTable(tb.t)
	tb.conn.DelTable(tb.t)
}

// serviceMatch is "ip daddr A meta l4proto P th dport N".
func serviceMatch(s ServicePort) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if s.Protocol == corev1.ProtocolUDP {
		proto = unix.IPPROTO_UDP
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: s.ClusterIP.To4()},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(s.Port)},
	}
}

// ifname matches the input (or output) interface name exactly.
func ifname(key uint32, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKey(key), Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return b
}
