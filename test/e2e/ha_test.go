package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"petset/internal/apiclient"
	"petset/test/harness"
)

// haServer is one `petset server` of the HA cluster: its flags (the same
// at every start) and the running process.
type haServer struct {
	name string
	url  string
	args []string
	proc *harness.Process
	// runs are the logs of its earlier runs, each up to its kill.
	runs []runLog
}

// TestHAServerKillNine: three `petset server` processes on loopback form
// one cluster (the first with --cluster-init, the others joining with the
// server token; a wrong token and the agents' join token are refused),
// one simulated agent and the test's client know all three servers. A
// StatefulSet rolls while each server in turn is killed with SIGKILL (and
// started again before the next): after each kill a ConfigMap write is
// acknowledged through the other servers and every write acknowledged so
// far (one writer writes all the time) is there; the set converges to
// the last revision with every pod Ready on it; the controllers' leader
// was never two servers at once (from the servers' logs and kill times);
// the agent changed server and its node stayed Ready.
// Loopback ports: API 17043-17045, etcd 17050-17055, the agent's streaming
// server 17046.
func TestHAServerKillNine(t *testing.T) {
	t.Parallel() // its own bridge, namespaces, addresses and ports
	dir := t.TempDir()
	servers := make([]*haServer, 3)
	for i := range servers {
		s := &haServer{
			name: fmt.Sprintf("server-%d", i),
			url:  fmt.Sprintf("https://127.0.0.1:%d", 17043+i),
		}
		s.args = []string{"server", "--data-dir", filepath.Join(dir, s.name), "--listen", fmt.Sprintf("127.0.0.1:%d", 17043+i),
			"--etcd-client-address", fmt.Sprintf("127.0.0.1:%d", 17050+2*i), "--etcd-peer-address", fmt.Sprintf("127.0.0.1:%d", 17051+2*i)}
		if i == 0 {
			s.args = append(s.args, "--cluster-init")
		} else {
			// Each joins through the server before it.
			s.args = append(s.args, "--server", servers[i-1].url,
				"--token-file", filepath.Join(dir, "server-0", "pki", "server.token"),
				"--ca-file", filepath.Join(dir, "server-0", "pki", "ca.crt"))
		}
		servers[i] = s
	}
	start := func(s *haServer) string {
		t.Helper()
		s.proc = harness.StartProcess(t, nil, harness.Bin(), s.args...)
		kubeconfig, _, err := s.proc.WaitReady(3 * time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		return kubeconfig
	}
	var kubeconfig string
	for i, s := range servers {
		kubeconfig = start(s)
		if i == 0 {
			checkJoinRefused(t, s.url, filepath.Join(dir, "server-0", "pki"))
		}
	}
	urls := []string{servers[0].url, servers[1].url, servers[2].url}

	// The last server's kubeconfig lists every server; the test's client
	// fails over among them as petset kubectl does.
	ctx := context.Background()
	cfg := harness.RESTConfig(t, kubeconfig)
	cfg.QPS, cfg.Burst = 200, 400
	if err := apiclient.Failover(ctx, cfg, urls); err != nil {
		t.Fatal(err)
	}
	client := harness.Clientset(t, cfg)
	for _, s := range servers {
		// petset kubectl with that server's kubeconfig, which lists all three.
		out, err := exec.Command(harness.Bin(), "kubectl", "--kubeconfig", filepath.Join(dir, s.name, "kubeconfig"),
			"config", "view", "-o", "jsonpath={.clusters[0].cluster.extensions[0].extension.servers}").CombinedOutput()
		r := string(out)
		if err != nil {
			t.Fatalf("petset kubectl config view: %v: %s", err, r)
		}
		for _, u := range urls {
			if !strings.Contains(r, u) {
				t.Fatalf("%s's kubeconfig lists servers %s, want each of %v", s.name, r, urls)
			}
		}
	}

	agent := harness.StartProcess(t, nil, harness.Bin(), "agent", "--server", strings.Join(urls, ","),
		"--token-file", filepath.Join(dir, "server-0", "pki", "join.token"), "--ca-file", filepath.Join(dir, "server-0", "pki", "ca.crt"),
		"--data-dir", filepath.Join(dir, "agent"), "--node-name", "ha-node", "--node-ip", "127.0.0.1",
		"--stream-listen", "127.0.0.1:17046", "--simulate",
		"--simulate-start-delay", "500ms", "--simulate-ready-delay", "1s", "--simulate-stop-delay", "300ms")
	if err := harness.WaitFor(time.Minute, func() (bool, error) {
		return strings.Contains(agent.Stdout(), "petset agent is ready"), nil
	}); err != nil {
		t.Fatalf("agent not ready: %v\n%s", err, harness.Tail(agent.Stderr(), 3000))
	}

	// The writer: ConfigMaps one after the other, each retried until it is
	// acknowledged (AlreadyExists on a retry: an earlier try was stored).
	w := &haWriter{client: client}
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx) }()
	t.Cleanup(func() { stopWriter(); wg.Wait() })

	const replicas = 4
	set := haStatefulSet(replicas)
	if _, err := client.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSetConverged(t, client, replicas, "0")

	for i, s := range servers {
		// A rollout in progress at the kill.
		version := fmt.Sprint(i + 1)
		rollTo(t, client, version)
		if err := harness.WaitFor(time.Minute, func() (bool, error) {
			st, err := client.AppsV1().StatefulSets("default").Get(ctx, "ha", metav1.GetOptions{})
			return err == nil && st.Status.UpdateRevision != st.Status.CurrentRevision && st.Status.UpdatedReplicas >= 1, nil
		}); err != nil {
			t.Fatalf("rollout to %s did not start: %v", version, err)
		}
		before := w.acknowledged()
		holder := leaseHolder(ctx, client)
		if strings.HasPrefix(holder, "error: ") {
			holder = ""
		}
		s.proc.Kill(t)
		s.runs = append(s.runs, runLog{log: s.proc.Stderr(), end: time.Now()})
		t.Logf("killed %s (pid %d) with %d writes acknowledged", s.name, s.proc.Pid(), len(before))
		// Writes go on through the others.
		if err := harness.WaitFor(time.Minute, func() (bool, error) { return len(w.acknowledged()) > len(before)+5, nil }); err != nil {
			t.Fatalf("no write acknowledged after %s was killed: %v", s.name, err)
		}
		w.checkStored(t, ctx, fmt.Sprintf("after %s was killed", s.name))
		if holder != "" && strings.Contains(s.proc.Stderr(), `msg="leading: starting controllers" identity=`+holder) {
			// The leader was killed: another server takes over once its
			// lease has expired (were it restarted sooner, it would take
			// its own lease back).
			var h string
			if err := harness.WaitFor(time.Minute, func() (bool, error) {
				h = leaseHolder(ctx, client)
				return h != "" && h != holder && !strings.HasPrefix(h, "error: "), nil
			}); err != nil {
				for _, o := range servers {
					t.Logf("%s leadership lines: %q", o.name, leadingLine.FindAllString(o.proc.Stderr(), -1))
				}
				t.Fatalf("no server took over from leader %s (%s): %v (holder %q)", s.name, holder, err, h)
			}
			t.Logf("%s took over from %s", leaseHolder(ctx, client), holder)
		}
		start(s)
	}
	waitSetConverged(t, client, replicas, fmt.Sprint(len(servers)))
	stopWriter()
	wg.Wait()
	w.checkStored(t, ctx, "at the end")
	t.Logf("%d writes acknowledged, all stored", len(w.acknowledged()))

	checkOneLeaderAtATime(t, servers)
	if changes := regexp.MustCompile(`msg="API server changed".*`).FindAllString(agent.Stderr(), -1); len(changes) == 0 {
		t.Errorf("the agent never changed API server")
	} else {
		t.Logf("agent: %q", changes)
	}
	node, err := client.CoreV1().Nodes().Get(ctx, "ha-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			t.Errorf("node ha-node Ready=%s (%s): its agent lost the control plane", c.Status, c.Message)
		}
	}
	// The members as `petset server member list` shows them; the dead
	// server-2 removed as docs/ha.md says to replace a member.
	member := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(harness.Bin(), append(append([]string{"server", "member"}, args...),
			"--data-dir", filepath.Join(dir, "server-0"), "--etcd-endpoint", "https://127.0.0.1:17050")...).CombinedOutput()
		if err != nil {
			t.Fatalf("petset server member %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if list := member("list"); strings.Count(list, " voter ") != 3 {
		t.Fatalf("member list: want three voters:\n%s", list)
	}
	servers[2].proc.Kill(t)
	var dead string
	for _, line := range strings.Split(member("list"), "\n") {
		if strings.Contains(line, "127.0.0.1:17055") {
			dead = strings.Fields(line)[0]
		}
	}
	if dead == "" {
		t.Fatalf("no member with server-2's peer URL")
	}
	member("remove", dead)
	if list := member("list"); strings.Count(list, " voter ") != 2 || strings.Contains(list, "17055") {
		t.Fatalf("member list after removing server-2: want the two others:\n%s", list)
	}
	// The end: SIGKILL, by PID, as in the test. A graceful stop of the
	// servers one by one would leave the last two without a quorum,
	// waiting on etcd while they stop.
	agent.Stop(t)
	for _, s := range servers {
		s.proc.Kill(t)
	}
}

// checkJoinRefused: the join endpoint gives nothing for a wrong token or
// the agents' join token.
func checkJoinRefused(t *testing.T, server, pkiDir string) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(pkiDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	jt, err := os.ReadFile(filepath.Join(pkiDir, "join.token"))
	if err != nil {
		t.Fatal(err)
	}
	joinToken := strings.TrimSpace(string(jt))
	for _, token := range []string{"", "wrong", joinToken} {
		req, err := http.NewRequest(http.MethodPost, server+"/petset/v1/cluster/join",
			bytes.NewReader([]byte(`{"name":"intruder","peerURL":"https://127.0.0.1:17059"}`)))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body.String(), "PRIVATE KEY") {
			t.Fatalf("join with token %q: %s %q, want 401 and nothing else", token, resp.Status, body.String())
		}
	}
}

// haStatefulSet is a set whose pod template carries a version label, so a
// new version rolls.
func haStatefulSet(replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": "ha"}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ha", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(replicas), ServiceName: "ha",
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"version": "0"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "kubia"}}},
			},
		},
	}
}

func rollTo(t *testing.T, client kubernetes.Interface, version string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"version":%q}}}}}`, version)
	err := harness.WaitFor(time.Minute, func() (bool, error) {
		_, err := client.AppsV1().StatefulSets("default").Patch(context.Background(), "ha", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("roll to version %s: %v", version, err)
	}
}

// waitSetConverged waits until the set's status says every replica is
// Ready on the update revision and each pod carries the version.
func waitSetConverged(t *testing.T, client kubernetes.Interface, replicas int32, version string) {
	t.Helper()
	var last string
	err := harness.WaitFor(3*time.Minute, func() (bool, error) {
		st, err := client.AppsV1().StatefulSets("default").Get(context.Background(), "ha", metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		s := st.Status
		last = fmt.Sprintf("generation %d observed %d, replicas %d ready %d updated %d, revisions %s/%s",
			st.Generation, s.ObservedGeneration, s.Replicas, s.ReadyReplicas, s.UpdatedReplicas, s.CurrentRevision, s.UpdateRevision)
		if s.ObservedGeneration != st.Generation || s.ReadyReplicas != replicas || s.UpdatedReplicas != replicas || s.CurrentRevision != s.UpdateRevision {
			return false, nil
		}
		pods, err := client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=ha"})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, p := range pods.Items {
			if p.Annotations["version"] != version || p.DeletionTimestamp != nil {
				return false, nil
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		last += fmt.Sprintf(", pods %d ready %d", len(pods.Items), ready)
		return len(pods.Items) == int(replicas) && ready == int(replicas), nil
	})
	if err != nil {
		t.Fatalf("set ha did not converge on version %s: %v (%s)", version, err, last)
	}
}

// haWriter writes ConfigMaps one after the other and remembers which were
// acknowledged.
type haWriter struct {
	client kubernetes.Interface
	mu     sync.Mutex
	acked  []string
}

func (w *haWriter) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("ack-%05d", i)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": name}}
		for ctx.Err() == nil {
			_, err := w.client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				w.mu.Lock()
				w.acked = append(w.acked, name)
				w.mu.Unlock()
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (w *haWriter) acknowledged() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// checkStored fails for any acknowledged write that is not stored.
func (w *haWriter) checkStored(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	acked := w.acknowledged()
	var list *corev1.ConfigMapList
	err := harness.WaitFor(time.Minute, func() (bool, error) {
		var err error
		list, err = w.client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("list ConfigMaps %s: %v", when, err)
	}
	stored := map[string]bool{}
	for _, cm := range list.Items {
		stored[cm.Name] = true
	}
	for _, name := range acked {
		if !stored[name] {
			t.Errorf("acknowledged write %s lost (%s)", name, when)
		}
	}
}

// leaseHolder is the controllers' Lease holder ("" when unknown).
func leaseHolder(ctx context.Context, client kubernetes.Interface) string {
	l, err := client.CoordinationV1().Leases("kube-system").Get(ctx, "petset-controller-manager", metav1.GetOptions{})
	if err != nil {
		return "error: " + err.Error()
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

var leadingLine = regexp.MustCompile(`time=(\S+) level=\S+ msg="(leading: starting controllers|stopped leading)"`)

// checkOneLeaderAtATime reads each server run's leadership from its log
// ("leading: starting controllers" until "stopped leading", its kill or
// now) and fails if two runs' leadership overlaps.
func checkOneLeaderAtATime(t *testing.T, servers []*haServer) {
	t.Helper()
	type term struct {
		server   string
		from, to time.Time
	}
	var terms []term
	for _, s := range servers {
		for run, stderr := range s.logs() {
			var cur *term
			for _, m := range leadingLine.FindAllStringSubmatch(stderr.log, -1) {
				at, err := time.Parse(time.RFC3339Nano, m[1])
				if err != nil {
					t.Fatalf("%s: time %q: %v", s.name, m[1], err)
				}
				switch {
				case m[2] == "stopped leading" && cur != nil:
					cur.to = at
					terms = append(terms, *cur)
					cur = nil
				case m[2] != "stopped leading":
					cur = &term{server: fmt.Sprintf("%s run %d", s.name, run), from: at}
				}
			}
			if cur != nil {
				cur.to = stderr.end
				terms = append(terms, *cur)
			}
		}
	}
	if len(terms) < 2 {
		t.Errorf("leadership never moved between servers: %+v", terms)
	}
	for i, a := range terms {
		for _, b := range terms[i+1:] {
			if a.from.Before(b.to) && b.from.Before(a.to) {
				t.Errorf("two leaders at once: %s led %s–%s, %s led %s–%s", a.server, a.from.Format(time.StampMilli), a.to.Format(time.StampMilli),
					b.server, b.from.Format(time.StampMilli), b.to.Format(time.StampMilli))
			}
		}
	}
	for _, tm := range terms {
		t.Logf("leader: %s from %s to %s", tm.server, tm.from.Format(time.StampMilli), tm.to.Format(time.StampMilli))
	}
}

// runLog is one run's stderr and when the run ended (killed, or now).
type runLog struct {
	log string
	end time.Time
}

// logs are the server's runs: the earlier ones up to their kill, the
// current one up to now.
func (s *haServer) logs() []runLog {
	return append(slices.Clone(s.runs), runLog{log: s.proc.Stderr(), end: time.Now()})
}
