package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"
)

// KubeletClientUser is the user the API server authenticates as to node
// agents (kube-apiserver's --kubelet-client-certificate, as kubeadm names it).
const KubeletClientUser = "kube-apiserver-kubelet-client"

// APIServerKubeletClientCert and APIServerKubeletClientKey are the API
// server's client certificate for node agents.
func (f Files) APIServerKubeletClientCert() string {
	return f.path("apiserver-kubelet-client.crt")
}
func (f Files) APIServerKubeletClientKey() string {
	return f.path("apiserver-kubelet-client.key")
}

// CA is the cluster CA with its key: what signs every petset certificate.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadCA reads the CA written by Ensure.
func (f Files) LoadCA() (*CA, error) {
	pair, err := tls.LoadX509KeyPair(f.CACert(), f.CAKey())
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse CA: %w", err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("CA key cannot sign")
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Sign issues a certificate for pub from tmpl (subject, SANs, usages),
// valid from now (minus a minute of clock skew) for lifetime, but never
// beyond the CA's own expiry. It returns the DER bytes.
func (ca *CA) Sign(tmpl *x509.Certificate, pub crypto.PublicKey, lifetime time.Duration) ([]byte, error) {
	t := *tmpl
	now := time.Now()
	t.SerialNumber = serial()
	t.NotBefore = now.Add(-time.Minute)
	t.NotAfter = now.Add(lifetime)
	if t.NotAfter.After(ca.Cert.NotAfter) {
		t.NotAfter = ca.Cert.NotAfter
	}
	t.BasicConstraintsValid = true
	t.IsCA = false
	der, err := x509.CreateCertificate(rand.Reader, &t, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", t.Subject.CommonName, err)
	}
	return der, nil
}

// IssueClient writes a new key and a client certificate (common name user,
// organizations groups) signed by the CA to certPath and keyPath (0600).
func (ca *CA) IssueClient(certPath, keyPath, user string, groups []string, lifetime time.Duration) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	der, err := ca.Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &key.PublicKey, lifetime)
	if err != nil {
		return err
	}
	return writeCertKey(certPath, keyPath, der, key)
}

// ensureKubeletClient issues the API server's client certificate for
// node agents when it is missing or expires within a day.
func (f Files) ensureKubeletClient(ca *CA) error {
	if pair, err := tls.LoadX509KeyPair(f.APIServerKubeletClientCert(), f.APIServerKubeletClientKey()); err == nil {
		if cert, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && time.Now().Before(cert.NotAfter.Add(-24*time.Hour)) {
			return nil
		}
	}
	return ca.IssueClient(f.APIServerKubeletClientCert(), f.APIServerKubeletClientKey(), KubeletClientUser, nil, 365*24*time.Hour)
}
