package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"petset/internal/logging"

	mdns "github.com/miekg/dns"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultZone           = "cluster.local."
	DefaultTTL            = 30
	DefaultForwardTimeout = 2 * time.Second
)

// Config configures a Server.
type Config struct {
	// Addrs are the host:port addresses to serve on, over both UDP and TCP
	// (the same port for both). Port 0 picks a free port.
	Addrs []string
	// Zone is the cluster domain, "cluster.local." when empty.
	Zone string
	// TTL is the TTL of every record served from the zone; 30 when zero.
	TTL uint32
	// Forward are upstream servers ("ip" or "ip:port") for names outside
	// the zone. When empty such names are answered REFUSED.
	Forward []string
	// ForwardTimeout bounds one exchange with one upstream; 2s when zero.
	ForwardTimeout time.Duration
}

// Server answers DNS queries for the cluster zone from an index of
// Services and EndpointSlices fed by informers.
type Server struct {
	cfg   Config
	zone  string
	ix    *index
	regs  []cache.ResourceEventHandlerRegistration
	ready chan struct{}

	mu    sync.Mutex
	addrs []net.Addr
}

// New validates cfg and registers the index's event handlers with the
// informers. It does not bind or serve; Run does. The informers must be
// started (e.g. by their factory's Start) for Run to become ready.
func New(ctx context.Context, cfg Config, services coreinformers.ServiceInformer, slices discoveryinformers.EndpointSliceInformer) (*Server, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("dns: no listen address configured")
	}
	if cfg.Zone == "" {
		cfg.Zone = DefaultZone
	}
	zone := strings.ToLower(mdns.Fqdn(cfg.Zone))
	if _, ok := mdns.IsDomainName(zone); !ok || zone == "." {
		return nil, fmt.Errorf("dns: invalid zone %q", cfg.Zone)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ForwardTimeout <= 0 {
		cfg.ForwardTimeout = DefaultForwardTimeout
	}
	fwd := make([]string, 0, len(cfg.Forward))
	for _, f := range cfg.Forward {
		addr, err := upstreamAddr(f)
		if err != nil {
			return nil, err
		}
		fwd = append(fwd, addr)
	}
	cfg.Forward = fwd

	s := &Server{cfg: cfg, zone: zone, ix: newIndex(), ready: make(chan struct{})}
	reg, err := services.Informer().AddEventHandler(s.ix.serviceHandler())
	if err != nil {
		return nil, fmt.Errorf("dns: watch services: %w", err)
	}
	s.regs = append(s.regs, reg)
	reg, err = slices.Informer().AddEventHandler(s.ix.sliceHandler())
	if err != nil {
		return nil, fmt.Errorf("dns: watch endpointslices: %w", err)
	}
	s.regs = append(s.regs, reg)
	logging.FromContext(ctx).With("component", "dns").Debug("dns server configured", "zone", zone, "addrs", cfg.Addrs, "forward", cfg.Forward)
	return s, nil
}

func upstreamAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	return "", fmt.Errorf("dns: invalid forward address %q (want ip or ip:port)", s)
}

// Ready is closed once the index holds the informers' initial state and
// every listener is serving.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the bound addresses once Ready is closed: one *net.UDPAddr
// per configured address; the TCP listener uses the same IP and port.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

// Run binds the listeners, waits for the informers' initial sync, serves
// until ctx is done, then shuts the listeners down and returns. It returns
// nil after a normal shutdown and an error when a listener cannot be bound
// or fails.
func (s *Server) Run(ctx context.Context) error {
	log := logging.FromContext(ctx).With("component", "dns")
	var pcs []net.PacketConn
	var lns []net.Listener
	closeAll := func() {
		for _, pc := range pcs {
			pc.Close()
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	var addrs []net.Addr
	for _, a := range s.cfg.Addrs {
		pc, ln, err := bindPair(ctx, a)
		if err != nil {
			closeAll()
			return err
		}
		pcs, lns = append(pcs, pc), append(lns, ln)
		addrs = append(addrs, pc.LocalAddr())
	}

	if !cache.WaitForCacheSync(ctx.Done(), s.hasSynced) {
		closeAll()
		return nil // ctx ended before the informers synced
	}

	h := &handler{zone: s.zone, ttl: s.cfg.TTL, ix: s.ix, forward: s.cfg.Forward, forwardTimeout: s.cfg.ForwardTimeout, log: log}
	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	handlerFunc := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) { h.serve(serveCtx, w, r) })

	var servers []*mdns.Server
	for i := range pcs {
		servers = append(servers,
			&mdns.Server{PacketConn: pcs[i], Net: "udp", Handler: handlerFunc},
			&mdns.Server{Listener: lns[i], Net: "tcp", Handler: handlerFunc})
	}
	errs := make(chan error, len(servers))
	var started sync.WaitGroup
	var wg sync.WaitGroup
	for _, srv := range servers {
		started.Add(1)
		srv.NotifyStartedFunc = started.Done
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				errs <- fmt.Errorf("dns: serve %s: %w", srv.Net, err)
				cancel()
			}
		}()
	}
	startedCh := make(chan struct{})
	go func() { started.Wait(); close(startedCh) }()

	var runErr error
	select {
	case <-startedCh:
		s.mu.Lock()
		s.addrs = addrs
		s.mu.Unlock()
		close(s.ready)
		log.Info("dns server ready", "addrs", addrsString(addrs), "zone", s.zone)
		<-serveCtx.Done()
	case <-serveCtx.Done():
	}
	select {
	case runErr = <-errs:
	default:
	}
	// Shut every server down; closing the sockets afterwards also stops a
	// server that had not started yet when ctx ended.
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	for _, srv := range servers {
		_ = srv.ShutdownContext(shutdownCtx) // "server not started" for one that never started
	}
	closeAll()
	wg.Wait()
	return runErr
}

func (s *Server) hasSynced() bool {
	for _, r := range s.regs {
		if !r.HasSynced() {
			return false
		}
	}
	return true
}

func addrsString(addrs []net.Addr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// bindPair binds UDP and TCP on the same address; with port 0 it retries
// until the port picked for UDP is also free for TCP.
func bindPair(ctx context.Context, addr string) (net.PacketConn, net.Listener, error) {
	var lc net.ListenConfig
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns: listen address %q: %w", addr, err)
	}
	attempts := 1
	if portStr == "0" {
		attempts = 20
	}
	var lastErr error
	for range attempts {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen udp %s: %w", addr, err)
		}
		ln, err := lc.Listen(ctx, "tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("dns: listen tcp %s: %w", addr, lastErr)
}
