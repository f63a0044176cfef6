// Package etcdtest starts an embedded etcd for tests.
package etcdtest

import (
	"context"
	"path/filepath"
	"testing"

	"petset/internal/etcd"
	"petset/internal/pki"
)

// Start starts an embedded etcd alone, with ports the system picks, in a
// temporary directory with credentials of its own, and stops it when the
// test ends. It returns the client credentials it accepts (the API
// server's client certificate).
func Start(t testing.TB) (*etcd.Server, etcd.TLS) {
	t.Helper()
	f := pki.Files{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := f.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	e, err := etcd.Start(context.Background(), etcd.Config{
		Dir:     t.TempDir(),
		Serving: etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdServerCert(), KeyFile: f.EtcdServerKey()},
		Peer:    etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdPeerCert(), KeyFile: f.EtcdPeerKey()},
		Alone:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e, etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdClientCert(), KeyFile: f.EtcdClientKey()}
}
