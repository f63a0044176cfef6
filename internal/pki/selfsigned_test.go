package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"
)

// TestSelfSignedServes: a TLS client that trusts only the certificate and
// asks for host completes a handshake with a server presenting it.
func TestSelfSignedServes(t *testing.T) {
	const host = "apiserver-loopback-client"
	certPEM, keyPEM, err := SelfSigned(host, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("certificate PEM not parsed")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: host})
	if err != nil {
		t.Fatalf("handshake with the self-signed certificate: %v", err)
	}
	conn.Close()
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "other"}); err == nil {
		t.Fatal("a handshake for another name succeeded")
	}
}
