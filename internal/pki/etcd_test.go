package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsureEtcd(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	if err := f.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{f.EtcdCAKey(), f.EtcdServerKey(), f.EtcdPeerKey(), f.EtcdClientKey()} {
		st, err := os.Stat(key)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", key, st.Mode().Perm())
		}
	}
	ca := readCert(t, f.EtcdCACert())
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server := readCert(t, f.EtcdServerCert())
	if _, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server certificate for 127.0.0.1: %v", err)
	}
	client := readCert(t, f.EtcdClientCert())
	if client.Subject.CommonName != EtcdClientCN {
		t.Errorf("client CN %q", client.Subject.CommonName)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the client certificate also serves")
	}

	// A second run keeps everything.
	before, _ := os.ReadFile(f.EtcdClientCert())
	if err := f.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(f.EtcdClientCert())
	if !bytes.Equal(before, after) {
		t.Error("a second EnsureEtcd replaced a valid client certificate")
	}

	// A client certificate of another CA is replaced by one of this CA.
	other := Files{Dir: t.TempDir()}
	if err := other.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{other.EtcdClientCert(), f.EtcdClientCert()}, {other.EtcdClientKey(), f.EtcdClientKey()}} {
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	if _, err := readCert(t, f.EtcdClientCert()).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("foreign client certificate not replaced: %v", err)
	}
	if !readCert(t, f.EtcdCACert()).Equal(ca) {
		t.Error("the etcd CA changed")
	}
}
