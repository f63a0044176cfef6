package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The embedded etcd's credentials, laid out as kubeadm lays them out: a CA
// of etcd's own (so a certificate of the cluster CA, such as a node's, never
// opens etcd), etcd's serving and peer certificates, and the one client
// certificate etcd accepts, the API server's.
func (f Files) EtcdCACert() string     { return filepath.Join(f.Dir, "etcd", "ca.crt") }
func (f Files) EtcdCAKey() string      { return filepath.Join(f.Dir, "etcd", "ca.key") }
func (f Files) EtcdServerCert() string { return filepath.Join(f.Dir, "etcd", "server.crt") }
func (f Files) EtcdServerKey() string  { return filepath.Join(f.Dir, "etcd", "server.key") }
func (f Files) EtcdPeerCert() string   { return filepath.Join(f.Dir, "etcd", "peer.crt") }
func (f Files) EtcdPeerKey() string    { return filepath.Join(f.Dir, "etcd", "peer.key") }
func (f Files) EtcdClientCert() string { return filepath.Join(f.Dir, "apiserver-etcd-client.crt") }
func (f Files) EtcdClientKey() string  { return filepath.Join(f.Dir, "apiserver-etcd-client.key") }

// EtcdClientCN is the common name of the API server's etcd client
// certificate (kubeadm's).
const EtcdClientCN = "kube-apiserver-etcd-client"

// EnsureEtcd creates whatever is missing of the embedded etcd's
// credentials: the etcd CA, etcd's serving and peer certificates (for
// loopback, this host's name and extraHosts, the addresses a member of a
// cluster of several serves its peers and clients on) and the API server's
// client certificate. A certificate that is not signed by the etcd CA, does
// not cover those hosts or expires within a day is replaced; keys are
// written mode 0600.
func (f Files) EnsureEtcd(extraHosts ...string) error {
	if err := os.MkdirAll(filepath.Join(f.Dir, "etcd"), 0o700); err != nil {
		return fmt.Errorf("create etcd pki dir: %w", err)
	}
	ca, caKey, err := loadOrCreateCA(f.EtcdCACert(), f.EtcdCAKey(), "etcd-ca")
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if hostname != "" && hostname != "localhost" {
		hosts = append(hosts, hostname)
	}
	for _, h := range extraHosts {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	leaves := []struct {
		cert, key, cn string
		hosts         []string
		usage         []x509.ExtKeyUsage
	}{
		{f.EtcdServerCert(), f.EtcdServerKey(), orDefault(hostname, "etcd-server"), hosts, both},
		{f.EtcdPeerCert(), f.EtcdPeerKey(), orDefault(hostname, "etcd-peer"), hosts, both},
		{f.EtcdClientCert(), f.EtcdClientKey(), EtcdClientCN, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	}
	for _, l := range leaves {
		if err := ensureLeaf(ca, caKey, l.cert, l.key, l.cn, l.hosts, l.usage); err != nil {
			return err
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ensureLeaf keeps the certificate at certPath if ca signed it for cn,
// hosts and usage and it is valid for more than a day; otherwise it issues
// a new one (valid one year) with a new key.
func ensureLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, certPath, keyPath, cn string, hosts []string, usage []x509.ExtKeyUsage) error {
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		if cert, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && leafValid(cert, ca, cn, hosts, usage) {
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key for %s: %w", certPath, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create %s: %w", certPath, err)
	}
	return writeCertKey(certPath, keyPath, der, key)
}

func leafValid(cert, ca *x509.Certificate, cn string, hosts []string, usage []x509.ExtKeyUsage) bool {
	if cert.Subject.CommonName != cn || time.Now().After(cert.NotAfter.Add(-24*time.Hour)) {
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: usage}); err != nil {
		return false
	}
	return covers(cert, hosts)
}
