package pki

import (
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// TestKubeconfigListsEveryServer: the servers a kubeconfig was written
// with come back from the file, the own server first; a kubeconfig of one
// server has no list.
func TestKubeconfigListsEveryServer(t *testing.T) {
	f := Files{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := f.Ensure([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		others []string
		want   []string
	}{
		{nil, nil},
		{[]string{"https://127.0.0.1:2", "https://127.0.0.1:3"}, []string{"https://127.0.0.1:1", "https://127.0.0.1:2", "https://127.0.0.1:3"}},
	} {
		p := filepath.Join(t.TempDir(), "kubeconfig")
		if err := f.WriteKubeconfig(p, "https://127.0.0.1:1", "tok", tc.others...); err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.LoadFromFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
		if got := KubeconfigServers(c); !slices.Equal(got, tc.want) {
			t.Fatalf("servers %q, want %q", got, tc.want)
		}
		if c.Server != "https://127.0.0.1:1" {
			t.Fatalf("server %q", c.Server)
		}
	}
}
