package controlplane

import "testing"

func TestAdvertiseIP(t *testing.T) {
	if ip := advertiseIP("192.0.2.7", "127.0.0.1"); ip.String() != "192.0.2.7" {
		t.Errorf("configured: %v", ip)
	}
	if ip := advertiseIP("", "10.1.2.3"); ip.String() != "10.1.2.3" {
		t.Errorf("listen address: %v", ip)
	}
	if ip := advertiseIP("", "127.0.0.1"); ip != nil {
		t.Errorf("loopback listen address advertised %v, want none", ip)
	}
	if ip := advertiseIP("", "0.0.0.0"); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		t.Errorf("0.0.0.0 advertised %v", ip)
	}
}
