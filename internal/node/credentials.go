package node

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"

	"petset/internal/pki"
)

// Node identities, as kubelet's.
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
	// certLifetime is the lifetime petset up gives the node certificates it
	// issues itself; the certificate managers renew them before they end.
	certLifetime = 365 * 24 * time.Hour
)

var (
	clientUsages  = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	servingUsages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
)

// credentials are a node's certificates in <node data>/pki, kept the way
// kubelet keeps them: kubelet-client-<time>.pem and kubelet-server-<time>.pem
// (certificate and key in one file, mode 0600) with a
// kubelet-{client,server}-current.pem symlink to the newest.
type credentials struct {
	dir    string
	name   string
	nodeIP string
}

func (c credentials) clientStore() (certificate.FileStore, error) {
	return certificate.NewFileStore("kubelet-client", c.dir, c.dir, "", "")
}

func (c credentials) servingStore() (certificate.FileStore, error) {
	return certificate.NewFileStore("kubelet-server", c.dir, c.dir, "", "")
}

func (c credentials) user() string { return nodeUserPrefix + c.name }

// clientTemplate is the request for the node's client certificate.
func (c credentials) clientTemplate() *x509.CertificateRequest {
	return &x509.CertificateRequest{Subject: pkix.Name{CommonName: c.user(), Organization: []string{nodesGroup}}}
}

// servingTemplate is the request for the node's serving certificate: its
// name and IP, which the approver checks against its Node object.
func (c credentials) servingTemplate() *x509.CertificateRequest {
	t := c.clientTemplate()
	t.DNSNames = []string{c.name}
	if ip := net.ParseIP(c.nodeIP); ip != nil {
		t.IPAddresses = []net.IP{ip}
	}
	return t
}

// usable reports a stored certificate that is valid for at least another minute.
func usable(store certificate.FileStore) bool {
	cert, err := store.Current()
	if err != nil || cert.Leaf == nil {
		return false
	}
	return time.Now().Add(time.Minute).Before(cert.Leaf.NotAfter)
}

// issue writes certificates signed by ca directly (petset up holds the CA):
// a client certificate and a serving certificate, each only when missing
// or expired.
func (c credentials) issue(ca *pki.CA) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("node pki dir: %w", err)
	}
	for _, s := range []struct {
		prefix string
		tmpl   *x509.CertificateRequest
		eku    x509.ExtKeyUsage
	}{
		{"client", c.clientTemplate(), x509.ExtKeyUsageClientAuth},
		{"server", c.servingTemplate(), x509.ExtKeyUsageServerAuth},
	} {
		store, err := certificate.NewFileStore("kubelet-"+s.prefix, c.dir, c.dir, "", "")
		if err != nil {
			return err
		}
		if usable(store) {
			continue
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := ca.Sign(&x509.Certificate{
			Subject: s.tmpl.Subject, DNSNames: s.tmpl.DNSNames, IPAddresses: s.tmpl.IPAddresses,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{s.eku},
		}, &key.PublicKey, certLifetime)
		if err != nil {
			return err
		}
		keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
		if err != nil {
			return err
		}
		if _, err := store.Update(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM); err != nil {
			return fmt.Errorf("store node %s certificate: %w", s.prefix, err)
		}
	}
	return nil
}

// bootstrap gets the node's client certificate with the bootstrap token
// when there is no usable one: a CertificateSigningRequest for
// system:node:<name>, approved and signed by the control plane. It is what
// kubelet's --bootstrap-kubeconfig does.
func (c credentials) bootstrap(ctx context.Context, base *restclient.Config, token string, log *slog.Logger) error {
	store, err := c.clientStore()
	if err != nil {
		return err
	}
	if usable(store) {
		return nil
	}
	if token == "" {
		return fmt.Errorf("node %s has no client certificate in %s and no bootstrap token to request one", c.name, c.dir)
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("node pki dir: %w", err)
	}
	cfg := restclient.AnonymousClientConfig(base)
	// Credentials aside, base's transport wrappers stay: the API server
	// failover (apiclient.Failover).
	cfg.WrapTransport = base.WrapTransport
	cfg.BearerToken = token
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	req, err := certutil.MakeCSRFromTemplate(key, c.clientTemplate())
	if err != nil {
		return err
	}
	log.Info("requesting the node's client certificate with the bootstrap token")
	name, uid, err := csr.RequestCertificateWithContext(ctx, client, req, "", certificatesv1.KubeAPIServerClientKubeletSignerName, nil, clientUsages, key)
	if err != nil {
		return fmt.Errorf("request node client certificate: %w", err)
	}
	certPEM, err := csr.WaitForCertificate(ctx, client, name, uid)
	if err != nil {
		return fmt.Errorf("wait for node client certificate (csr %s): %w", name, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return err
	}
	if _, err := store.Update(certPEM, keyPEM); err != nil {
		return fmt.Errorf("store node client certificate: %w", err)
	}
	log.Info("node client certificate issued", "csr", name)
	return nil
}

// clientConfig is base authenticating with the node's client certificate
// file, which client-go reloads when the manager rotates it.
func (c credentials) clientConfig(base *restclient.Config) *restclient.Config {
	cfg := restclient.AnonymousClientConfig(base)
	cfg.WrapTransport = base.WrapTransport // the API server failover
	current := filepath.Join(c.dir, "kubelet-client-current.pem")
	cfg.CertFile, cfg.KeyFile = current, current
	return cfg
}

// managers are client-go certificate managers that renew the client and
// serving certificates through CertificateSigningRequests (and get the
// serving one in the first place when there is none).
func (c credentials) managers(client kubernetes.Interface) ([]certificate.Manager, certificate.Manager, error) {
	clientStore, err := c.clientStore()
	if err != nil {
		return nil, nil, err
	}
	servingStore, err := c.servingStore()
	if err != nil {
		return nil, nil, err
	}
	clientset := func(*tls.Certificate) (kubernetes.Interface, error) { return client, nil }
	clientMgr, err := certificate.NewManager(&certificate.Config{
		Name: "kubelet-client", ClientsetFn: clientset, Template: c.clientTemplate(),
		SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName, Usages: clientUsages,
		CertificateStore: clientStore, GenerateKey: generateKey,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("client certificate manager: %w", err)
	}
	servingMgr, err := certificate.NewManager(&certificate.Config{
		Name: "kubelet-server", ClientsetFn: clientset, GetTemplate: c.servingTemplate,
		SignerName: certificatesv1.KubeletServingSignerName, Usages: servingUsages,
		CertificateStore: servingStore, GenerateKey: generateKey,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("serving certificate manager: %w", err)
	}
	return []certificate.Manager{clientMgr, servingMgr}, servingMgr, nil
}

func generateKey() (crypto.Signer, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// servingCertificate serves the manager's current certificate.
func servingCertificate(m certificate.Manager) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if cert := m.Current(); cert != nil {
			return cert, nil
		}
		return nil, errors.New("the node has no serving certificate yet")
	}
}
