package inproc

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	restclient "k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
)

// Config returns a copy of cfg whose requests go to h in this process, with
// cfg's identity: its bearer token passes as a header as before, its client
// certificate (CertData, or CertFile read again when it is rotated) reaches
// the handler as the verified peer chain. cfg's TLS settings are dropped
// (there is no connection); everything else, wrappers included, stays.
func Config(cfg *restclient.Config, h http.Handler, log *slog.Logger) (*restclient.Config, error) {
	if cfg.Transport != nil || cfg.ExecProvider != nil || cfg.AuthProvider != nil {
		return nil, errors.New("inproc: a config with its own transport, exec or auth provider cannot be served in process")
	}
	t := &Transport{Handler: h, Logger: log}
	switch {
	case len(cfg.CertData) > 0:
		certs, err := certutil.ParseCertsPEM(cfg.CertData)
		if err != nil {
			return nil, fmt.Errorf("inproc: client certificate: %w", err)
		}
		t.ClientCertificates = func() ([]*x509.Certificate, error) { return certs, nil }
	case cfg.CertFile != "":
		t.ClientCertificates = CertificateFile(cfg.CertFile)
	}
	out := restclient.CopyConfig(cfg)
	out.TLSClientConfig = restclient.TLSClientConfig{}
	out.Transport = t
	return out, nil
}

// certRecheck is how often CertificateFile looks at the file again.
const certRecheck = time.Second

// CertificateFile returns the certificate chain in a PEM file (other
// blocks, a key, are skipped), read again when the file changes, as
// client-go reloads a rotated client certificate.
func CertificateFile(path string) func() ([]*x509.Certificate, error) {
	f := &certFile{path: path}
	return f.get
}

type certFile struct {
	path string

	mu      sync.Mutex
	checked time.Time
	mod     time.Time
	size    int64
	certs   []*x509.Certificate
}

func (f *certFile) get() ([]*x509.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.certs != nil && now.Sub(f.checked) < certRecheck {
		return f.certs, nil
	}
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, err
	}
	f.checked = now
	if f.certs != nil && fi.ModTime().Equal(f.mod) && fi.Size() == f.size {
		return f.certs, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	certs, err := certutil.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	f.certs, f.mod, f.size = certs, fi.ModTime(), fi.Size()
	return certs, nil
}
