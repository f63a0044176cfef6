package stream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"petset/internal/agent/runtime"
	"petset/internal/logging"
)

// Pods finds the containers and pods the requests name. The agent
// implements it.
type Pods interface {
	// ContainerID returns the runtime ID of the named container of a pod on
	// this node (with previous, of the instance before the current one). An
	// error wrapping runtime.ErrNotFound means there is no such container.
	ContainerID(namespace, pod, container string, previous bool) (string, error)
}

// ContainerNames is optionally implemented by Pods: the names of the
// containers (init and ephemeral ones included) a pod's spec declares. With
// it, a declared container that has not started yet is reported as
// "waiting to start" (400) rather than "not valid for pod" (404).
type ContainerNames interface {
	ContainerNames(namespace, pod string) ([]string, error)
}

// Config configures a Server.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:0" or ":10250".
	Addr string
	// ClientCAs verify the client certificate every connection must
	// present (the cluster CA), and AllowedClients are the common names a
	// client certificate may have (the API server's kubelet client,
	// kube-apiserver-kubelet-client). Both are required; nothing else is
	// accepted, no bearer token in particular.
	ClientCAs      *x509.CertPool
	AllowedClients []string
	// GetCertificate provides the serving certificate (the node's, renewed
	// by its certificate manager). Without it, CertFile and KeyFile are the
	// serving certificate; all empty means a self-signed certificate
	// generated in memory.
	GetCertificate    func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	CertFile, KeyFile string
	Pods              Pods
	Runtime           runtime.Runtime
	// SimulatedNode, when set, is the name of the simulated node this
	// server belongs to: its pods run no process, so exec, attach and
	// port-forward are refused with a message saying so (400, before any
	// upgrade); logs answer the simulated runtime's log.
	SimulatedNode string
}

// Server is the streaming server. Create it with New, then call Run.
type Server struct {
	cfg     Config
	cert    tls.Certificate
	handler http.Handler

	ready chan struct{}
	port  int
}

// New checks cfg and loads or generates the serving certificate.
func New(cfg Config) (*Server, error) {
	if cfg.ClientCAs == nil || len(cfg.AllowedClients) == 0 {
		return nil, errors.New("stream server: client CAs and allowed client names are required")
	}
	if cfg.Pods == nil || cfg.Runtime == nil {
		return nil, errors.New("stream server: Pods and Runtime are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = ":10250"
	}
	var cert tls.Certificate
	var err error
	switch {
	case cfg.GetCertificate != nil:
	case cfg.CertFile != "" && cfg.KeyFile != "":
		cert, err = tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("stream server: loading serving certificate: %w", err)
		}
	case cfg.CertFile == "" && cfg.KeyFile == "":
		cert, err = selfSignedCert()
		if err != nil {
			return nil, fmt.Errorf("stream server: generating serving certificate: %w", err)
		}
	default:
		return nil, errors.New("stream server: CertFile and KeyFile go together")
	}
	s := &Server{cfg: cfg, cert: cert, ready: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.serveLogs)
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", s.serveExec)
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", s.serveAttach)
	mux.HandleFunc("/portForward/{ns}/{pod}", s.servePortForward)
	s.handler = s.authenticate(mux)
	return s, nil
}

// Ready is closed once the server listens; Port is valid from then on.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Port is the port the server listens on, once Ready is closed.
func (s *Server) Port() int {
	select {
	case <-s.ready:
		return s.port
	default:
		return 0
	}
}

// Run serves HTTPS until ctx ends, then closes every connection, open
// streams included, and returns once all handlers have finished.
func (s *Server) Run(ctx context.Context) error {
	log := logging.FromContext(ctx).With("component", "stream")
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("stream server: listen on %s: %w", s.cfg.Addr, err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	baseCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var handlers sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			s.handler.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{
			Certificates:   s.certificates(),
			GetCertificate: s.cfg.GetCertificate,
			// Only HTTP/1.1: exec, attach and port-forward hijack the
			// connection, which HTTP/2 cannot do.
			NextProtos: []string{"http/1.1"},
			MinVersion: tls.VersionTLS12,
			// Only the API server, by its client certificate of the cluster CA.
			ClientAuth: tls.RequireAndVerifyClientCert,
			ClientCAs:  s.cfg.ClientCAs,
		},
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	close(s.ready)
	log.Info("streaming server listening", "addr", ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		// Close the listener and idle connections; cancelling baseCtx ends
		// the requests in flight, whose handlers close their hijacked
		// connections.
		srv.Close()
		cancel()
		err = <-errc
	}
	handlers.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("stream server: %w", err)
}

func (s *Server) certificates() []tls.Certificate {
	if s.cfg.GetCertificate != nil {
		return nil
	}
	return []tls.Certificate{s.cert}
}

// authenticate lets through requests whose verified client certificate
// has an allowed common name (the TLS handshake already required a
// certificate of the client CAs).
func (s *Server) authenticate(next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, n := range s.cfg.AllowedClients {
		allowed[n] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || !allowed[r.TLS.VerifiedChains[0][0].Subject.CommonName] {
			writeStatus(w, http.StatusForbidden, "Forbidden: only the API server may use the node's streaming server")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func selfSignedCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host + "@petset-agent"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{host, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
