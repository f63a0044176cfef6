package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"

	"petset/internal/logging"
)

// Server is a running embedded etcd member: a cluster of its own, or one
// member of a cluster of several (see Config's Name, URLs and Join).
type Server struct {
	e *embed.Etcd
	// closing quietens etcd's log while Close stops it.
	closing *atomic.Bool
	close   sync.Once
}

// Config says where the embedded etcd keeps its data and its credentials.
type Config struct {
	// Dir is the etcd data directory.
	Dir string
	// Serving is etcd's client-port certificate and key, and the CA whose
	// client certificates it accepts (and no others).
	Serving TLS
	// Peer is the same for the peer port.
	Peer TLS
	// Name is the member's name, unique in its cluster (default "petset").
	Name string
	// ClientURL and PeerURL are where the member listens for clients and
	// for its peers and what it advertises to them (https://ip:port); empty:
	// https on 127.0.0.1 with a port the system picks, which suits only a
	// member alone (peers must find it again after a restart).
	ClientURL, PeerURL string
	// Join starts a member that was added to an existing cluster
	// (etcd's initial-cluster-state=existing); InitialCluster then lists
	// every member as name=peerURL,... Without Join the member starts a new
	// cluster of itself. Both are ignored once Dir holds a member: etcd
	// then starts from its data.
	Join           bool
	InitialCluster string
	// Alone is a member that never has peers (a server that is not part of
	// a cluster). It ticks raft every aloneTick instead of etcd's 100 ms,
	// so that it elects itself soon after it starts: with the default
	// ticks a new or restarted member waits 1 to 11 ticks for its
	// randomized election timeout (from start to ready, 20 starts and
	// restarts on the development machine: 108 ms to 1.01 s, mean 664 ms;
	// with 20 ms ticks 28–112 ms, mean 72 ms). Heartbeats, the other use
	// of the tick, go to no one; the ticks cost an idle `petset up` ≈ 5 ms
	// of CPU a second more (30 s idle: 360–450 ms of CPU with 100 ms
	// ticks, 540 ms with 20 ms ticks).
	Alone bool
}

// A member alone ticks every aloneTick and campaigns after aloneElection
// (etcd requires the election timeout to be at least five ticks).
const (
	aloneTick     = 20 * time.Millisecond
	aloneElection = 100 * time.Millisecond
)

// TLS names the files of one side of a mutual-TLS etcd connection: the CA
// that verifies the other side, and this side's certificate and key.
type TLS struct {
	CAFile, CertFile, KeyFile string
}

// Empty reports whether no file is set (a plain-HTTP connection).
func (t TLS) Empty() bool { return t.CAFile == "" && t.CertFile == "" && t.KeyFile == "" }

// Validate requires all three files or none.
func (t TLS) Validate() error {
	if t.Empty() || (t.CAFile != "" && t.CertFile != "" && t.KeyFile != "") {
		return nil
	}
	return errors.New("etcd TLS needs the CA file, the certificate file and the key file together")
}

func (t TLS) info() transport.TLSInfo {
	return transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.CAFile, ClientCertAuth: true}
}

// ClientConfig is the clientv3 configuration for endpoints with the client
// credentials t (none when t is empty).
func ClientConfig(ctx context.Context, endpoints []string, t TLS) (clientv3.Config, error) {
	// The client logs through the logger ctx carries (source=etcd),
	// warnings and errors only.
	cfg := clientv3.Config{Endpoints: endpoints, Context: ctx, Logger: zapLogger(logging.FromContext(ctx), nil)}
	if err := t.Validate(); err != nil {
		return cfg, err
	}
	if t.Empty() {
		return cfg, nil
	}
	tc, err := t.info().ClientConfig()
	if err != nil {
		return cfg, fmt.Errorf("etcd client TLS: %w", err)
	}
	cfg.TLS = tc
	return cfg, nil
}

// Start starts an embedded etcd on loopback with OS-chosen client and peer
// ports and waits until it serves. Both ports serve https and accept only
// clients with a certificate of cfg's CA. The data directory survives
// restarts: starting again on the same directory serves the same keys,
// also when it was written by a plain-HTTP etcd before.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	for _, t := range []TLS{cfg.Serving, cfg.Peer} {
		if t.CAFile == "" || t.CertFile == "" || t.KeyFile == "" {
			return nil, errors.New("embedded etcd needs a CA, certificate and key for its client and peer ports")
		}
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	if ec.Name == "" {
		ec.Name = "petset"
	}
	ec.Dir = cfg.Dir
	ec.WalDir = filepath.Join(cfg.Dir, "wal")
	// etcd logs through the logger ctx carries (source=etcd), warnings and
	// errors only.
	closing := new(atomic.Bool)
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(logging.FromContext(ctx), closing))
	clientURL, err := memberURL(cfg.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("etcd client URL: %w", err)
	}
	peerURL, err := memberURL(cfg.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("etcd peer URL: %w", err)
	}
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if cfg.Join {
		ec.InitialCluster = cfg.InitialCluster
		ec.ClusterState = embed.ClusterStateFlagExisting
	}
	ec.ClientTLSInfo = cfg.Serving.info()
	ec.PeerTLSInfo = cfg.Peer.info()
	ec.TlsMinVersion = "TLS1.2"
	// The API server compacts history itself (every 5 minutes, as kube-apiserver does).
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "0"
	// Objects of several MB must fit: kube-apiserver's etcd takes 1.5 MiB
	// requests; this one 2 MiB, the most a network client sends (clientv3's
	// default send limit), so that a client in-process (Client), which has
	// no such limit, is refused the same objects.
	ec.MaxRequestBytes = MaxRequestBytes
	if cfg.Alone {
		ec.TickMs, ec.ElectionMs = uint(aloneTick/time.Millisecond), uint(aloneElection/time.Millisecond)
	}

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return &Server{e: e, closing: closing}, nil
	case err := <-e.Err():
		closing.Store(true)
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		closing.Store(true)
		e.Server.Stop()
		e.Close()
		return nil, ctx.Err()
	case <-time.After(2 * time.Minute):
		closing.Store(true)
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready in 2m", cfg.Dir)
	}
}

// memberURL parses a member's https URL; empty is 127.0.0.1 with a port
// the system picks.
func memberURL(s string) (url.URL, error) {
	if s == "" {
		return url.URL{Scheme: "https", Host: "127.0.0.1:0"}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return url.URL{}, err
	}
	if u.Scheme != "https" || u.Port() == "" || u.Path != "" {
		return url.URL{}, fmt.Errorf("%q: want https://ip:port", s)
	}
	return *u, nil
}

// MaxRequestBytes is the largest request the embedded etcd accepts.
const MaxRequestBytes = 2 * 1024 * 1024

// Client is a client of this member that calls it in-process: no socket,
// TLS or gRPC, and no client certificate (the client-cert check guards
// the network listeners only, which stay for every other client). Close
// it before Close.
func (s *Server) Client() *clientv3.Client { return v3client.New(s.e.Server) }

// ClientURL is the URL clients use to reach this etcd.
func (s *Server) ClientURL() string {
	return "https://" + s.e.Clients[0].Addr().String()
}

// Err reports a fatal error of the running server.
func (s *Server) Err() <-chan error { return s.e.Err() }

// Close stops the server and waits until it has stopped; every
// acknowledged write is on disk by then (etcd syncs its WAL before it
// acknowledges). Closing again does nothing.
func (s *Server) Close() {
	s.close.Do(func() {
		s.closing.Store(true)
		s.e.Close()
	})
}
