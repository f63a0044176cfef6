package harness

import (
	"os"
	"os/exec"
	"testing"

	"petset/internal/testenv"
)

// LookHelm returns the helm the tests drive: $PETSET_HELM (`make e2e`
// builds bin/helm, helm v4 from the Go module proxy, with hack/tools) or
// helm on PATH. Without one the test is skipped, or fails under CI=true.
func LookHelm(t testing.TB) string {
	t.Helper()
	return lookBuiltTool(t, "helm", "PETSET_HELM")
}

// LookK9s returns k9s from $PETSET_K9S (`make e2e-k9s` builds bin/k9s
// from hack/k9s and sets it). Its build takes minutes of CPU, so the k9s
// test is an on-demand extra, skipped (under CI too) without the variable.
func LookK9s(t testing.TB) string {
	t.Helper()
	if os.Getenv("PETSET_K9S") == "" {
		t.Skip("k9s is checked on demand: make e2e-k9s")
	}
	return lookBuiltTool(t, "k9s", "PETSET_K9S")
}

func lookBuiltTool(t testing.TB, name, envVar string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", envVar, err)
		}
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.SkipOrFail(t, "no %s: set %s or run `make e2e` (it builds bin/%s): %v", name, envVar, name, err)
	}
	return p
}

// Helm returns helm at path bound to the cluster as a kubectl Client is:
// KUBECONFIG, and a HOME (so helm's cache, config and data dirs) of its own.
func (c *Cluster) Helm(t testing.TB, path string) *Client {
	t.Helper()
	cl := c.Kubectl(t, Kubectl{Name: "helm", Path: path})
	cl.plain = true
	return cl
}
