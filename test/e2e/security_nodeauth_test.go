package e2e

// TestSecurityNodeAuth: a node joins `petset server` with its bootstrap
// token from a file, gets certificates of its own, and can do only what a
// node may; the API server sends no credential to an endpoint that is not
// the node's agent.

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"petset/internal/pki"
	"petset/test/harness"
)

func TestSecurityNodeAuth(t *testing.T) {
	c := harness.StartServer(t)
	k := c.Kubectl(t, harness.Kubectl{Name: "petset-kubectl", Path: harness.Bin(), Args: []string{"kubectl"}})
	dataDir := filepath.Dir(c.Kubeconfig)
	files := pki.Files{Dir: filepath.Join(dataDir, "pki")}
	token, err := pki.ReadToken(files.JoinToken())
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(c.Dir, "join.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The agent joins with the token from a file.
	agentDir := filepath.Join(c.Dir, "agent")
	agent := harness.StartProcess(t, nil, harness.Bin(), "agent", "--server", c.Server, "--token-file", tokenFile,
		"--ca-file", files.CACert(), "--data-dir", agentDir, "--node-name", "n1", "--node-ip", "127.0.0.1", "--simulate")
	if err := harness.WaitFor(2*time.Minute, func() (bool, error) {
		if agent.Exited() {
			return false, fmt.Errorf("agent exited: %s", harness.Tail(agent.Stderr(), 3000))
		}
		return strings.Contains(agent.Stdout(), "petset agent is ready"), nil
	}); err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", agent.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), token) {
		t.Errorf("the join token is on the agent's command line")
	}
	if strings.Contains(agent.Stderr(), token) || strings.Contains(c.Process.Stderr(), token) {
		t.Errorf("the join token is in a log")
	}

	// Its certificates, 0600, in <data dir>/node/pki; the serving one comes
	// once the control plane approved it for the node's own address.
	pkiDir := filepath.Join(agentDir, "node", "pki")
	clientPEM := filepath.Join(pkiDir, "kubelet-client-current.pem")
	servingPEM := filepath.Join(pkiDir, "kubelet-server-current.pem")
	if err := harness.WaitFor(2*time.Minute, func() (bool, error) {
		_, err := os.Stat(servingPEM)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("no serving certificate: %v\n%s", err, harness.Tail(agent.Stderr(), 3000))
	}
	for _, p := range []string{clientPEM, servingPEM} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	id, _, _ := strings.Cut(token, ".")
	csrs := k.MustRun(t, "get", "csr", "-o", "custom-columns=REQUESTOR:.spec.username,SIGNER:.spec.signerName", "--no-headers").Stdout
	rows := map[string]bool{}
	for _, line := range strings.Split(csrs, "\n") {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	if !rows["system:bootstrap:"+id+" kubernetes.io/kube-apiserver-client-kubelet"] || !rows["system:node:n1 kubernetes.io/kubelet-serving"] {
		t.Errorf("CSRs do not show the bootstrap client request and the node's serving request:\n%s", csrs)
	}
	if cond := k.MustRun(t, "get", "csr", "--no-headers").Stdout; strings.Count(cond, "Approved,Issued") < 2 {
		t.Errorf("CSRs not approved and issued:\n%s", cond)
	}

	// What the node's credential may not do.
	nodeKubeconfig := c.WriteFile(t, "node.kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: n1, user: {client-certificate: %q, client-key: %q}}]
contexts: [{name: n1, context: {cluster: c, user: n1, namespace: default}}]
current-context: n1
`, c.Server, files.CACert(), clientPEM, clientPEM))
	asNode := func(args ...string) harness.Result {
		return k.RunWith(harness.RunOpts{Env: []string{"KUBECONFIG=" + nodeKubeconfig}}, args...)
	}
	if r := asNode("get", "node", "n1", "-o", "name"); r.Err != nil {
		t.Fatalf("the node's credential reads its own node: %v", r)
	}
	k.MustRun(t, "create", "secret", "generic", "top", "--from-literal=password=s3cret")
	k.MustRun(t, "apply", "-f", c.WriteFile(t, "other-node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: other\n"))
	hostPathPod := c.WriteFile(t, "hostpath.yaml", `apiVersion: v1
kind: Pod
metadata: {name: rootfs}
spec:
  nodeName: n1
  containers: [{name: c, image: busybox, command: [sleep, infinity]}]
  volumes: [{name: root, hostPath: {path: /}}]
`)
	for what, args := range map[string][]string{
		"list all secrets":      {"get", "secrets", "-A"},
		"read a secret":         {"get", "secret", "top"},
		"create a hostPath pod": {"create", "-f", hostPathPod},
		"impersonate the admin": {"get", "pods", "--as=petset-admin", "--as-group=system:masters"},
		"delete another node":   {"delete", "node", "other"},
		"label itself trusted":  {"label", "node", "n1", "node-restriction.kubernetes.io/trusted=yes"},
		"create a statefulset":  {"create", "-f", example(t, "kubia/kubia-statefulset.yaml")},
	} {
		r := asNode(args...)
		if r.Err == nil || !strings.Contains(r.Combined(), "Forbidden") && !strings.Contains(r.Combined(), "forbidden") {
			t.Errorf("the node's credential may not %s: %v", what, r)
		}
	}

	// The API server reaches the real agent with mutual TLS.
	k.MustRun(t, "apply", "-f", c.WriteFile(t, "p.yaml", `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  nodeName: n1
  containers: [{name: c, image: busybox, command: [sleep, infinity]}]
`))
	k.WaitJSONPath(t, 2*time.Minute, "{.status.phase}", "Running", "pod", "p")
	if r := k.Run("logs", "p"); r.Err != nil {
		t.Errorf("kubectl logs through the agent's mutual TLS: %v", r)
	}

	// Impostors: a Node whose address is a TLS server of this test, with
	// a certificate of another CA, or with the real node n1's serving
	// certificate (petset's CA, but not that node's). The API server must
	// refuse the handshake: the servers see no request at all.
	n1Cert, err := tls.LoadX509KeyPair(servingPEM, servingPEM)
	if err != nil {
		t.Fatal(err)
	}
	for name, cert := range map[string]*tls.Certificate{"impostor-foreign": nil, "impostor-n1cert": &n1Cert} {
		var requests atomic.Int32
		var sawClientCert atomic.Bool
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				sawClientCert.Store(true)
			}
			fmt.Fprintln(w, "impostor")
		}))
		srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
		if cert != nil {
			srv.TLS.Certificates = []tls.Certificate{*cert}
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		k.MustRun(t, "apply", "-f", c.WriteFile(t, name+".yaml", fmt.Sprintf("apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n", name)))
		k.MustRun(t, "patch", "node", name, "--subresource=status", "--type=merge", "-p",
			fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}}}}`, port))
		k.MustRun(t, "apply", "-f", c.WriteFile(t, name+"-pod.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s-pod}
spec:
  nodeName: %s
  containers: [{name: c, image: busybox}]
`, name, name)))
		for _, args := range [][]string{{"logs", name + "-pod"}, {"exec", name + "-pod", "--", "true"}} {
			if r := k.Run(args...); r.Err == nil {
				t.Errorf("%s: kubectl %s through an impostor endpoint succeeded: %v", name, args[0], r)
			}
		}
		if n := requests.Load(); n != 0 || sawClientCert.Load() {
			t.Errorf("%s: the impostor endpoint received %d requests (client certificate: %v); want none", name, n, sawClientCert.Load())
		}
	}
}
