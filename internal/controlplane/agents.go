package controlplane

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"sync"

	"petset/internal/pki"
)

// agentTransports are the API server's transports to node agents (logs,
// exec, attach, port-forward), one per node: mutual TLS with the cluster
// CA. The agent's serving certificate must be signed by the CA, name the
// address dialled and belong to that node (common name system:node:<node>);
// the API server presents apiserver-kubelet-client.crt. An endpoint that
// is not the node's agent fails the handshake before any request, and no
// bearer token is ever sent.
type agentTransports struct {
	roots  *x509.CertPool
	client tls.Certificate

	mu     sync.Mutex
	byNode map[string]*http.Transport
}

func newAgentTransports(files pki.Files) (*agentTransports, error) {
	caPEM, err := os.ReadFile(files.CACert())
	if err != nil {
		return nil, fmt.Errorf("agent transport: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("agent transport: no certificate in %s", files.CACert())
	}
	client, err := tls.LoadX509KeyPair(files.APIServerKubeletClientCert(), files.APIServerKubeletClientKey())
	if err != nil {
		return nil, fmt.Errorf("agent transport: client certificate: %w", err)
	}
	return &agentTransports{roots: roots, client: client, byNode: map[string]*http.Transport{}}, nil
}

// For returns the transport to node's agent.
func (a *agentTransports) For(node string) (http.RoundTripper, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.byNode[node]; ok {
		return t, nil
	}
	want := "system:node:" + node
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{
		RootCAs:      a.roots,
		Certificates: []tls.Certificate{a.client},
		MinVersion:   tls.VersionTLS12,
		// After the usual chain and address checks: the certificate must
		// be this node's, not another node's.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != want {
				return fmt.Errorf("the agent's serving certificate is not %s's", want)
			}
			return nil
		},
	}
	// Upgrades (exec, attach, port-forward) need HTTP/1.1.
	t.ForceAttemptHTTP2 = false
	a.byNode[node] = t
	return t, nil
}
