package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"

	"github.com/google/nftables"
	corev1 "k8s.io/api/core/v1"

	"petset/internal/testenv"
)

// TestInstallAndRemove installs a rule set as the kernel's nftables table
// of a made-up bridge, reads it back, replaces it, and removes it.
func TestInstallAndRemove(t *testing.T) {
	testenv.RequireRoot(t, "installing nftables rules")
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	p := &Proxy{cfg: Config{Bridge: "pxt" + hex.EncodeToString(b)}}
	t.Cleanup(func() { _ = p.remove() })
	rules := Rules{Services: []ServicePort{
		{Name: "default/web:http", ClusterIP: net.ParseIP("10.250.0.20").To4(), Protocol: corev1.ProtocolTCP, Port: 80,
			Endpoints: []Endpoint{{IP: net.ParseIP("10.250.1.2").To4(), Port: 8080}, {IP: net.ParseIP("10.250.1.3").To4(), Port: 8080}}},
		{Name: "default/none:x", ClusterIP: net.ParseIP("10.250.0.30").To4(), Protocol: corev1.ProtocolUDP, Port: 53},
	}}
	counts := func() map[string]int {
		t.Helper()
		conn, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		tb, err := conn.ListTableOfFamily(TableName(p.cfg.Bridge), nftables.TableFamilyIPv4)
		if err != nil {
			return nil
		}
		chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, c := range chains {
			if c.Table.Name != tb.Name {
				continue
			}
			rs, err := conn.GetRules(tb, c)
			if err != nil {
				t.Fatal(err)
			}
			out[c.Name] = len(rs)
		}
		return out
	}
	for i := 0; i < 2; i++ { // the second install replaces the first
		if err := p.install(rules, true); err != nil {
			t.Fatal(err)
		}
		got := counts()
		want := map[string]int{"services": 3, "no-endpoints": 1, "nat-prerouting": 1, "nat-output": 1, "nat-postrouting": 1,
			"filter-input": 1, "filter-output": 1, "filter-forward": 2}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("install %d: chain %s has %d rules, want %d (all: %v)", i+1, k, got[k], v, got)
			}
		}
	}
	if err := p.remove(); err != nil {
		t.Fatal(err)
	}
	if got := counts(); got != nil {
		t.Errorf("table left after remove: %v", got)
	}
}
