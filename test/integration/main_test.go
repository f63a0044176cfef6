package integration

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"petset/internal/controlplane"
	"petset/internal/logging"
)

// cluster is a running control plane for one test.
type cluster struct {
	cp      *controlplane.ControlPlane
	client  kubernetes.Interface
	config  *restclient.Config
	dataDir string
	stop    func()
}

// startCluster runs a control plane on 127.0.0.1:0 with its data in
// dataDir ("" for a fresh temporary one) and stops it when the test ends.
func startCluster(t *testing.T, dataDir string) *cluster {
	t.Helper()
	return startClusterAt(t, dataDir, "127.0.0.1:0")
}

// startClusterAt is startCluster listening on addr.
func startClusterAt(t *testing.T, dataDir, addr string) *cluster {
	t.Helper()
	return startClusterWith(t, controlplane.Config{DataDir: dataDir, Listen: addr})
}

// startClusterWith runs a control plane with cfg (DataDir "" for a fresh one).
func startClusterWith(t *testing.T, cfg controlplane.Config) *cluster {
	t.Helper()
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	logging.Setup(io.Discard, 0)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg.DataDir, cfg.Logger = dataDir, log
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cp, err := controlplane.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	select {
	case <-cp.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("control plane failed: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("control plane not ready after 2m")
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control plane stopped with error: %v", err)
		}
	}
	t.Cleanup(stop)
	admin := cp.AdminConfig()
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{cp: cp, client: client, config: admin, dataDir: dataDir, stop: stop}
}

// eventually polls cond until it holds or a generous bound passes; the
// bound only keeps a broken test from hanging, it measures nothing.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
}
