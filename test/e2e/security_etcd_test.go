package e2e

// TestSecurityEtcd: an unprivileged local user cannot reach petset's etcd.
// The test re-runs its own binary as uid/gid 65534 (nobody) with
// PETSET_E2E_ETCD_ATTACK set; that process is an ordinary etcd client
// (go.etcd.io/etcd/client/v3) trying what a local attacker would.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"petset/internal/etcd"
	"petset/internal/pki"
	"petset/internal/testenv"
	"petset/test/harness"
)

const etcdAttackEnv = "PETSET_E2E_ETCD_ATTACK"

// etcdAttack is what the unprivileged process reports: for each attempt,
// "" if it succeeded, else its error.
type etcdAttack map[string]string

var etcdReadyLine = regexp.MustCompile(`embedded etcd ready.* url=(\S+)`)

func TestSecurityEtcd(t *testing.T) {
	testenv.RequireRoot(t, "running a client as uid 65534")
	c := harness.StartServer(t)
	k := c.Kubectl(t, harness.Kubectl{Name: "petset-kubectl", Path: harness.Bin(), Args: []string{"kubectl"}})
	k.MustRun(t, "create", "secret", "generic", "top", "--from-literal=password=s3cret")

	m := etcdReadyLine.FindStringSubmatch(c.Process.Stderr())
	if m == nil {
		t.Fatalf("no etcd URL in the server's log:\n%s", harness.Tail(c.Process.Stderr(), 3000))
	}
	endpoint := m[1]
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Dir(c.Kubeconfig) // <data dir>/kubeconfig
	files := pki.Files{Dir: filepath.Join(dataDir, "pki")}

	// The attacker: this test binary, copied where nobody may execute it, run as nobody.
	bin := filepath.Join(worldDir(t), "attacker")
	copyFile(t, mustExecutable(t), bin, 0o755)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), etcdAttackEnv+"="+u.Host,
		"PETSET_E2E_ETCD_KEYS="+files.EtcdClientKey()+":"+files.EtcdCAKey())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("attacker process: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("attacker process: %v", err)
	}
	var res etcdAttack
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("attacker output %q: %v", out, err)
	}
	if len(res) == 0 {
		t.Fatal("attacker reported no attempts")
	}
	for what, errText := range res {
		if errText == "" {
			t.Errorf("as uid 65534: %s succeeded", what)
		} else {
			t.Logf("as uid 65534: %s refused: %s", what, errText)
		}
	}
	// The API server's own credentials (root may read them) do reach the
	// secret: the endpoint is right and the key is there.
	cfg, err := etcd.ClientConfig(context.Background(), []string{endpoint},
		etcd.TLS{CAFile: files.EtcdCACert(), CertFile: files.EtcdClientCert(), KeyFile: files.EtcdClientKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := etcdGet(cfg, "/registry/secrets/default/top"); err != nil {
		t.Fatalf("etcd with the API server's client certificate: %v", err)
	}

	// Nothing the attacker tried to write landed.
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/registry/pods/default/evil")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Errorf("the attacker's pod is in etcd")
	}
}

// runEtcdAttack is the unprivileged process: it tries to read the secrets
// and write a pod through etcd's client port, with no certificate over
// https and over plain http, and to read the etcd keys from the data dir.
// It prints an etcdAttack as JSON.
func runEtcdAttack(host string) int {
	res := etcdAttack{}
	record := func(what string, err error) {
		if err != nil {
			res[what] = err.Error()
		} else {
			res[what] = ""
		}
	}
	noCert := clientv3.Config{Endpoints: []string{"https://" + host},
		TLS: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // an attacker does not verify
	plain := clientv3.Config{Endpoints: []string{"http://" + host},
		DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}}
	for name, cfg := range map[string]clientv3.Config{"https without a client certificate": noCert, "plain http": plain} {
		record("read /registry/secrets/ over "+name, etcdGet(cfg, "/registry/secrets/"))
		record("write /registry/pods/default/evil over "+name, etcdPut(cfg, "/registry/pods/default/evil", "{}"))
	}
	// The same at the TLS layer, where etcd says why.
	tr := &http.Transport{TLSClientConfig: noCert.TLS}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + host + "/version")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
	}
	record("GET /version over https without a client certificate", err)
	tr.CloseIdleConnections()
	for _, key := range filepath.SplitList(os.Getenv("PETSET_E2E_ETCD_KEYS")) {
		_, err := os.ReadFile(key)
		record("read "+key, err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func etcdGet(cfg clientv3.Config, prefix string) error {
	return withEtcd(cfg, func(ctx context.Context, cli *clientv3.Client) error {
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err == nil && len(resp.Kvs) == 0 {
			return fmt.Errorf("no key under %s", prefix)
		}
		return err
	})
}

func etcdPut(cfg clientv3.Config, key, val string) error {
	return withEtcd(cfg, func(ctx context.Context, cli *clientv3.Client) error {
		_, err := cli.Put(ctx, key, val)
		return err
	})
}

// withEtcd runs f with a client of cfg; the bound only keeps a refused
// client (which retries) from hanging.
func withEtcd(cfg clientv3.Config, f func(context.Context, *clientv3.Client) error) error {
	cli, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f(ctx, cli)
}

// worldDir is a directory every user may enter, removed when the test ends.
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "petset-e2e-world-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
