package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// startBound bounds a start of petset until its ready line.
const startBound = 3 * time.Minute

// Cluster is a running petset API server and the credentials it wrote.
type Cluster struct {
	Dir        string // test-owned temp dir: data dir, kubectl caches, scratch files
	Kubeconfig string
	Server     string // https://127.0.0.1:port
	Token      string
	Process    *Process
}

// StartServer runs `petset server` on a free 127.0.0.1 port with a fresh data
// dir and returns once it printed its ready line. The server is stopped when
// the test ends.
func StartServer(t testing.TB) *Cluster {
	t.Helper()
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		data := filepath.Join(dir, fmt.Sprintf("data-%d", attempt))
		listen := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		p := StartProcess(t, nil, Bin(), "server", "--data-dir", data, "--listen", listen)
		kubeconfig, _, err := p.WaitReady(startBound)
		if err == nil {
			c := &Cluster{Dir: dir, Kubeconfig: kubeconfig, Process: p}
			c.readKubeconfig(t)
			return c
		}
		p.Stop(t)
		lastErr = err
		if !p.addrInUse() {
			break
		}
	}
	t.Fatalf("petset server did not become ready: %v", lastErr)
	return nil
}

// readKubeconfig pulls the server URL and token out of the written kubeconfig.
func (c *Cluster) readKubeconfig(t testing.TB) {
	t.Helper()
	data, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		t.Fatalf("read kubeconfig: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "server:"):
			c.Server = strings.TrimSpace(strings.TrimPrefix(line, "server:"))
		case strings.HasPrefix(line, "token:"):
			c.Token = strings.TrimSpace(strings.TrimPrefix(line, "token:"))
		}
	}
	if c.Server == "" || c.Token == "" {
		t.Fatalf("kubeconfig %s has no server or token:\n%s", c.Kubeconfig, data)
	}
}

// RESTConfig is a client-go config from the kubeconfig petset wrote.
func (c *Cluster) RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	return RESTConfig(t, c.Kubeconfig)
}

// RESTConfig is a client-go config from a kubeconfig file.
func RESTConfig(t testing.TB, kubeconfig string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", kubeconfig, err)
	}
	return cfg
}

// Clientset is a typed client-go client for cfg.
func Clientset(t testing.TB, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return cs
}

// WriteFile writes data into the cluster's scratch dir and returns its path.
func (c *Cluster) WriteFile(t testing.TB, name, data string) string {
	t.Helper()
	dir := filepath.Join(c.Dir, "files")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
