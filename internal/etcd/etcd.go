package etcd

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Server is a running single-member embedded etcd.
type Server struct {
	e *embed.Etcd
}

// Config says where the embedded etcd keeps its data.
type Config struct {
	// Dir is the etcd data directory.
	Dir string
	// LogLevel is etcd's own log level (default "error").
	LogLevel string
}

// Start starts an embedded etcd on loopback with an OS-chosen client port
// and waits until it serves. The data directory survives restarts: starting
// again on the same directory serves the same keys.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	ec := embed.NewConfig()
	ec.Name = "petset"
	ec.Dir = cfg.Dir
	ec.WalDir = filepath.Join(cfg.Dir, "wal")
	ec.LogLevel = cfg.LogLevel
	if ec.LogLevel == "" {
		ec.LogLevel = "error"
	}
	loop := func(port string) url.URL { return url.URL{Scheme: "http", Host: "127.0.0.1:" + port} }
	ec.ListenClientUrls = []url.URL{loop("0")}
	ec.AdvertiseClientUrls = []url.URL{loop("0")}
	ec.ListenPeerUrls = []url.URL{loop("0")}
	ec.AdvertisePeerUrls = []url.URL{loop("0")}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	// The API server compacts history itself (every 5 minutes, as kube-apiserver does).
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "0"
	// Several MB objects must fit: match kube-apiserver's 1.5 MiB request limit with room.
	ec.MaxRequestBytes = 3 * 1024 * 1024

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return &Server{e: e}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		e.Server.Stop()
		e.Close()
		return nil, ctx.Err()
	case <-time.After(2 * time.Minute):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready in 2m", cfg.Dir)
	}
}

// ClientURL is the URL clients use to reach this etcd.
func (s *Server) ClientURL() string {
	return "http://" + s.e.Clients[0].Addr().String()
}

// Err reports a fatal error of the running server.
func (s *Server) Err() <-chan error { return s.e.Err() }

// Close stops the server and waits until it has stopped; every
// acknowledged write is on disk by then (etcd syncs its WAL before it
// acknowledges).
func (s *Server) Close() {
	s.e.Close()
}
