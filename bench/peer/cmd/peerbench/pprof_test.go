package main

import "testing"

func TestCheckPprof(t *testing.T) {
	for addr, ok := range map[string]bool{
		"":                true,
		"127.0.0.1:18931": true,
		"localhost:6060":  true,
		"[::1]:6060":      true,
		"127.0.0.1:18760": false, // petset's own API port
		"127.0.0.1:18742": false, // the peer's kube-apiserver
		"0.0.0.0:6060":    false,
		"10.0.0.1:6060":   false,
		"127.0.0.1":       false,
	} {
		if err := checkPprof(addr); (err == nil) != ok {
			t.Errorf("checkPprof(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}
