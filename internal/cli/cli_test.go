package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `petset --help` lists the example command with what it is for.
func TestHelpListsExample(t *testing.T) {
	root := NewRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "example ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("petset --help does not list example:\n%s", out.String())
	}
	for _, app := range []string{"kubia", "hellostateful", "dnsutils"} {
		if !strings.Contains(line, app) {
			t.Errorf("example's help line %q does not name %s", line, app)
		}
	}
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: petset
  cluster:
    server: https://127.0.0.1:%s
contexts:
- name: petset
  context: {cluster: petset, user: admin}
current-context: petset
users:
- name: admin
  user: {token: x}
`

func writeKubeconfig(t *testing.T, port string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(strings.Replace(testKubeconfig, "%s", port, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runKubectl runs `petset kubectl args…` and returns its stdout (kubectl
// writes to os.Stdout) and error.
func runKubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	root := NewRoot()
	root.SetArgs(append([]string{"kubectl"}, args...))
	err = root.Execute()
	os.Stdout = saved
	w.Close()
	return <-done, err
}

// `petset kubectl` with a data dir other than the default uses that data
// dir's kubeconfig: from --data-dir (before or among kubectl's args, in
// both spellings) or $PETSET_DATA_DIR.
func TestKubectlUsesDataDirKubeconfig(t *testing.T) {
	a := writeKubeconfig(t, "16001")
	b := writeKubeconfig(t, "16002")
	server := []string{"config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"}
	for _, c := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"--data-dir first", "", append([]string{"--data-dir", a}, server...), "https://127.0.0.1:16001"},
		{"--data-dir= among args", "", append(append([]string{}, server[:2]...), append([]string{"--data-dir=" + a}, server[2:]...)...), "https://127.0.0.1:16001"},
		{"PETSET_DATA_DIR", b, server, "https://127.0.0.1:16002"},
		{"--data-dir wins over PETSET_DATA_DIR", b, append([]string{"--data-dir", a}, server...), "https://127.0.0.1:16001"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", "")
			os.Unsetenv("KUBECONFIG")
			t.Setenv(DataDirEnv, c.env)
			if c.env == "" {
				os.Unsetenv(DataDirEnv)
			}
			got, err := runKubectl(t, c.args...)
			if err != nil {
				t.Fatalf("petset kubectl %v: %v", c.args, err)
			}
			if got != c.want {
				t.Errorf("petset kubectl %v used server %q, want %q", c.args, got, c.want)
			}
		})
	}
}

// Without a kubeconfig in the data dir, petset kubectl says what is missing
// and how to point it at the right data dir, instead of kubectl's fallback
// to localhost:8080; commands that need no server still run.
func TestKubectlWithoutKubeconfigSaysWhy(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	os.Unsetenv("KUBECONFIG")
	empty := t.TempDir()
	t.Setenv(DataDirEnv, empty)
	_, err := runKubectl(t, "get", "pods")
	if err == nil {
		t.Fatal("petset kubectl get pods with no kubeconfig in the data dir succeeded")
	}
	for _, want := range []string{filepath.Join(empty, "kubeconfig"), "--data-dir", "PETSET_DATA_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "localhost:8080") {
		t.Errorf("error still names localhost:8080: %v", err)
	}
	if _, err := runKubectl(t, "config", "view"); err != nil {
		t.Errorf("petset kubectl config view (needs no server) failed: %v", err)
	}
}
