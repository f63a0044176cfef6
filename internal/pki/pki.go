package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files is the set of credentials of one control plane.
type Files struct {
	Dir string
}

func (f Files) path(name string) string { return filepath.Join(f.Dir, name) }

// Paths inside the PKI directory.
func (f Files) CACert() string      { return filepath.Join(f.Dir, "ca.crt") }
func (f Files) CAKey() string       { return filepath.Join(f.Dir, "ca.key") }
func (f Files) ServingCert() string { return filepath.Join(f.Dir, "apiserver.crt") }
func (f Files) ServingKey() string  { return filepath.Join(f.Dir, "apiserver.key") }
func (f Files) AdminToken() string  { return filepath.Join(f.Dir, "admin.token") }
func (f Files) JoinToken() string   { return filepath.Join(f.Dir, "join.token") }

// Ensure creates whatever is missing: a CA, a serving certificate for the
// given hosts (IPs or DNS names) signed by it, the API server's client
// certificate for node agents, and the two tokens. A
// serving certificate that does not cover every host is replaced.
func (f Files) Ensure(hosts []string) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	caCert, caKey, err := f.ensureCA()
	if err != nil {
		return err
	}
	if err := f.ensureServing(caCert, caKey, hosts); err != nil {
		return err
	}
	if err := f.ensureKubeletClient(&CA{Cert: caCert, Key: caKey}); err != nil {
		return err
	}
	for p, gen := range map[string]func() (string, error){f.AdminToken(): newToken, f.JoinToken(): newBootstrapToken} {
		if _, err := os.Stat(p); err == nil {
			continue
		}
		tok, err := gen()
		if err != nil {
			return err
		}
		if err := writePrivate(p, []byte(tok+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// ReadToken reads a token file written by Ensure.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return t, nil
}

// newBootstrapToken is a join token in kube's bootstrap token format,
// "<6-character id>.<16-character secret>" of [a-z0-9]; the API server
// authenticates it as system:bootstrap:<id>.
func newBootstrapToken() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 22)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generate token: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b[:6]) + "." + string(b[6:]), nil
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (f Files) ensureCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	return loadOrCreateCA(f.CACert(), f.CAKey(), "petset-ca")
}

// loadOrCreateCA loads the CA at certPath/keyPath, or creates a
// self-signed one named cn there when it does not exist yet.
func loadOrCreateCA(certPath, keyPath, cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, nil, fmt.Errorf("parse CA %s: %w", certPath, err)
		}
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("CA key %s is not ECDSA", keyPath)
		}
		return cert, key, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA: %w", err)
	}
	if err := writeCertKey(certPath, keyPath, der, key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func (f Files) ensureServing(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) error {
	if pair, err := tls.LoadX509KeyPair(f.ServingCert(), f.ServingKey()); err == nil {
		if cert, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && covers(cert, hosts) && time.Now().Before(cert.NotAfter.Add(-24*time.Hour)) {
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate serving key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "petset-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create serving certificate: %w", err)
	}
	return writeCertKey(f.ServingCert(), f.ServingKey(), der, key)
}

func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func writeCertKey(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	if err := writePrivate(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})); err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", certPath, err)
	}
	return nil
}

func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
