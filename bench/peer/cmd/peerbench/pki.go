package main

// The peer's credentials, as kubeadm would lay them out for one machine: a
// CA, the API server's serving certificate for 127.0.0.1, the service
// account signing key, and a static admin token (group system:masters) that
// every component and the client use through one kubeconfig.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// credentials are the paths of the files pkiFiles wrote.
type credentials struct {
	caCert, servingCert, servingKey, saKey, saPub, tokens, kubeconfig string
}

// pkiFiles writes the peer's credentials into dir for an API server at
// https://listen.
func pkiFiles(dir, listen string) (credentials, error) {
	c := credentials{
		caCert: filepath.Join(dir, "ca.crt"), servingCert: filepath.Join(dir, "apiserver.crt"),
		servingKey: filepath.Join(dir, "apiserver.key"), saKey: filepath.Join(dir, "sa.key"),
		saPub: filepath.Join(dir, "sa.pub"), tokens: filepath.Join(dir, "tokens.csv"),
		kubeconfig: filepath.Join(dir, "kubeconfig"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, fmt.Errorf("ca key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "peer-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return c, fmt.Errorf("ca cert: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return c, fmt.Errorf("ca cert: %w", err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, fmt.Errorf("serving key: %w", err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost", "kubernetes.default.svc"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return c, fmt.Errorf("serving cert: %w", err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, fmt.Errorf("service account key: %w", err)
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return c, fmt.Errorf("token: %w", err)
	}
	token := hex.EncodeToString(tok)
	files := map[string][]byte{
		c.caCert:      pemBlock("CERTIFICATE", caDER),
		c.servingCert: pemBlock("CERTIFICATE", srvDER),
		c.tokens:      []byte(token + `,admin,admin,"system:masters"` + "\n"),
	}
	for path, key := range map[string]*ecdsa.PrivateKey{c.servingKey: srvKey, c.saKey: saKey} {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return c, fmt.Errorf("marshal key: %w", err)
		}
		files[path] = pemBlock("EC PRIVATE KEY", der)
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return c, fmt.Errorf("marshal public key: %w", err)
	}
	files[c.saPub] = pemBlock("PUBLIC KEY", pub)
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return c, fmt.Errorf("write %s: %w", path, err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["peer"] = &clientcmdapi.Cluster{Server: "https://" + listen, CertificateAuthorityData: files[c.caCert]}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["peer"] = &clientcmdapi.Context{Cluster: "peer", AuthInfo: "admin"}
	cfg.CurrentContext = "peer"
	if err := clientcmd.WriteToFile(*cfg, c.kubeconfig); err != nil {
		return c, fmt.Errorf("write kubeconfig: %w", err)
	}
	return c, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
