package registry

import (
	"net"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestProxyable(t *testing.T) {
	old := hostAddrs
	t.Cleanup(func() { hostAddrs = old })
	hostAddrs = func() ([]net.IP, error) {
		return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10")}, nil
	}
	for _, tc := range []struct {
		ip     string
		node   []string
		refuse bool
	}{
		{ip: "10.88.0.5"},
		{ip: "2001:db8::5"},
		{ip: "127.0.0.1", refuse: true},
		{ip: "127.1.2.3", refuse: true},
		{ip: "::1", refuse: true},
		{ip: "::ffff:127.0.0.1", refuse: true},
		{ip: "169.254.169.254", refuse: true},
		{ip: "fe80::1", refuse: true},
		{ip: "0.0.0.0", refuse: true},
		{ip: "::", refuse: true},
		{ip: "224.0.0.1", refuse: true},
		{ip: "ff02::1", refuse: true},
		{ip: "255.255.255.255", refuse: true},
		{ip: "192.0.2.10", refuse: true},   // this host's
		{ip: "2001:db8::10", refuse: true}, // this host's
		{ip: "10.0.0.7", node: []string{"10.0.0.7"}, refuse: true},
		{ip: "10.0.0.8", node: []string{"10.0.0.7", ""}},
		{ip: "", refuse: true},
		{ip: "not-an-ip", refuse: true},
	} {
		err := proxyable(tc.ip, tc.node...)
		if !tc.refuse {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.ip, err)
			}
			continue
		}
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "address not allowed") {
			t.Errorf("%s (node %v): want 400 address not allowed, got %v", tc.ip, tc.node, err)
		}
	}
}
