package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

const kubiaPod0 = "/api/v1/namespaces/default/pods/kubia-0/proxy/"

// readyWatchLine is one pod's name and Ready status per line of `get pods -w`.
const readyWatchExpr = `{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}`

// assertOrdered checks the lines of a `get pods -w -o jsonpath=<readyWatchExpr>`
// watch: pod set-(i+1) first appears only after set-i was seen Ready.
func assertOrdered(t *testing.T, watch string, set string, n int) {
	t.Helper()
	readyAt := map[string]int{}
	firstAt := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(watch))
	line := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		line++
		if _, ok := firstAt[f[0]]; !ok {
			firstAt[f[0]] = line
		}
		if len(f) > 1 && f[1] == "True" {
			if _, ok := readyAt[f[0]]; !ok {
				readyAt[f[0]] = line
			}
		}
	}
	for i := 0; i+1 < n; i++ {
		cur, next := fmt.Sprintf("%s-%d", set, i), fmt.Sprintf("%s-%d", set, i+1)
		r, ok1 := readyAt[cur]
		f, ok2 := firstAt[next]
		if !ok1 || !ok2 || f < r {
			t.Errorf("%s appeared (watch line %d) before %s was Ready (line %d, seen=%v/%v); watch:\n%s",
				next, f, cur, r, ok1, ok2, watch)
		}
	}
}

// waitWatch waits until the watch output shows every pod set-0..n-1 Ready.
func waitWatch(t *testing.T, p *harness.Process, set string, n int) string {
	t.Helper()
	err := harness.WaitFor(3*time.Minute, func() (bool, error) {
		out := p.Stdout()
		for i := 0; i < n; i++ {
			if !strings.Contains(out, fmt.Sprintf("%s-%d True\n", set, i)) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("watch never showed %s-0..%d Ready: %v\n%s\n%s", set, n-1, err, p.Stdout(), p.Stderr())
	}
	return p.Stdout()
}

// TestWalkthroughKubia is seeds 000/003 on a real node: the kubia set, the
// pod proxy, delete-keeps-data, exec, logs, the peers version and scaling.
func TestWalkthroughKubia(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K

	w := k.Start(t, "get", "pods", "-l", "app=kubia", "-w", "-o", "jsonpath="+readyWatchExpr)
	k.MustRun(t, "create", "-f", example(t, "kubia/kubia-service-headless.yaml"))
	k.MustRun(t, "create", "-f", example(t, "kubia/kubia-statefulset.yaml"))
	u.WaitReady(t, "kubia", 2)
	assertOrdered(t, waitWatch(t, w, "kubia", 2), "kubia", 2)
	w.Stop(t)

	// Claims per pod, Bound.
	for _, c := range []string{"data-kubia-0", "data-kubia-1"} {
		k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", c)
	}

	px := u.StartProxy(t)
	px.WaitBody(t, "GET", kubiaPod0, "", "You've hit kubia-0", "No data posted yet")
	// kubia keeps the last POSTed body, so a retried POST stores the same data.
	px.WaitBody(t, "POST", kubiaPod0, "Hey there! This greeting was submitted to kubia-0.", "Data stored on pod kubia-0")
	px.WaitBody(t, "GET", kubiaPod0, "", "You've hit kubia-0", "Hey there! This greeting was submitted to kubia-0.")
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/kubia-1/proxy/", "", "You've hit kubia-1", "No data posted yet")

	t.Run("exec hostname", func(t *testing.T) {
		r := k.MustRun(t, "exec", "kubia-0", "--", "hostname")
		if strings.TrimSpace(r.Stdout) != "kubia-0" {
			t.Errorf("hostname in kubia-0: %q", r.Stdout)
		}
	})
	t.Run("logs", func(t *testing.T) {
		r := k.MustRun(t, "logs", "kubia-0")
		if !strings.Contains(r.Stdout, "kubia server") && !strings.Contains(r.Stdout, "8080") {
			t.Errorf("kubectl logs kubia-0 shows no app output: %q", r.Stdout)
		}
	})

	// kubectl cp runs tar in the container through exec: a file copied
	// into the pod's volume is there for cat and comes back out unchanged.
	t.Run("cp", func(t *testing.T) {
		dir := t.TempDir()
		content := "copied by kubectl cp\nline two\t\x01\xff\n"
		in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
		if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		k.MustRun(t, "cp", in, "kubia-0:/var/data/cp-test.txt")
		if r := k.MustRun(t, "exec", "kubia-0", "--", "cat", "/var/data/cp-test.txt"); r.Stdout != content {
			t.Errorf("cat in kubia-0 after kubectl cp: %q, want %q", r.Stdout, content)
		}
		k.MustRun(t, "cp", "kubia-0:/var/data/cp-test.txt", out)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("kubectl cp out of kubia-0 wrote nothing: %v", err)
		}
		if string(got) != content {
			t.Errorf("kubectl cp round trip: %q, want %q", got, content)
		}
		k.MustRun(t, "exec", "kubia-0", "--", "rm", "/var/data/cp-test.txt")
	})

	// Delete the pod: it comes back with the same name, claim and data.
	oldUID := k.JSONPath(t, "{.metadata.uid}", "pod", "kubia-0")
	k.MustRun(t, "delete", "po", "kubia-0")
	err := harness.WaitFor(3*time.Minute, func() (bool, error) {
		r := k.Run("get", "pod", "kubia-0", "-o", `jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}`)
		return r.Err == nil && !strings.HasPrefix(r.Stdout, oldUID) && strings.HasSuffix(r.Stdout, " True"), nil
	})
	if err != nil {
		t.Fatalf("kubia-0 not recreated and Ready: %v", err)
	}
	if got := k.JSONPath(t, "{.spec.volumes[0].persistentVolumeClaim.claimName}", "pod", "kubia-0"); got != "data-kubia-0" {
		t.Errorf("new kubia-0 uses claim %q", got)
	}
	px.WaitBody(t, "GET", kubiaPod0, "", "You've hit kubia-0", "Hey there! This greeting was submitted to kubia-0.")

	// The peers version (000 §4.2): every pod lists the data of all pods.
	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-statefulset-peers.yaml"))
	k.WaitJSONPath(t, 3*time.Minute, "{.status.updatedReplicas}", "3", "statefulset", "kubia")
	u.WaitReady(t, "kubia", 3)
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/kubia-1/proxy/", "", "You've hit kubia-1", "Data stored in the cluster")
	t.Logf("pods before POST to kubia-1:\n%s", k.MustRun(t, "get", "pods", "-o", "wide").Stdout)
	px.WaitBody(t, "POST", "/api/v1/namespaces/default/pods/kubia-1/proxy/", "The sun is shining", "Data stored on pod kubia-1")
	t.Logf("pods after POST to kubia-1:\n%s", k.MustRun(t, "get", "pods", "-o", "wide").Stdout)
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/kubia-2/proxy/", "",
		"You've hit kubia-2", "Data stored in the cluster",
		"kubia-0.kubia.default.svc.cluster.local: Hey there! This greeting was submitted to kubia-0.",
		"kubia-1.kubia.default.svc.cluster.local: The sun is shining",
		"kubia-2.kubia.default.svc.cluster.local: No data posted yet")

	// Scale 3 → 1 and back: claims stay, data comes back with the pods.
	k.MustRun(t, "scale", "statefulset", "kubia", "--replicas=1")
	k.WaitGone(t, 3*time.Minute, "pod", "kubia-2")
	k.WaitGone(t, 3*time.Minute, "pod", "kubia-1")
	for _, c := range []string{"data-kubia-0", "data-kubia-1", "data-kubia-2"} {
		k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", c)
	}
	k.MustRun(t, "scale", "statefulset", "kubia", "--replicas=2")
	u.WaitReady(t, "kubia", 2)
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/kubia-1/proxy/", "",
		"You've hit kubia-1", "kubia-1.kubia.default.svc.cluster.local: The sun is shining")

	// kubectl debug: an ephemeral container in kubia-0, in its pod's
	// namespaces (its hostname, the kubia process beside it), fed from
	// stdin; it runs once and the pod stays Ready.
	r := k.RunWith(harness.RunOpts{Stdin: "echo debug-on-$(hostname); for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done\nexit 3\n"},
		"debug", "-i", "kubia-0", "--image=busybox", "--container=dbg", "--target=kubia", "--profile=general", "--", "sh")
	if r.Err != nil || !strings.Contains(r.Stdout, "debug-on-kubia-0") || !strings.Contains(r.Stdout, "example kubia") {
		t.Errorf("kubectl debug: want its hostname and the kubia process: %s", r)
	}
	k.WaitJSONPath(t, waitBound, `{.status.ephemeralContainerStatuses[?(@.name=="dbg")].state.terminated.exitCode}`, "3", "pod", "kubia-0")
	if got := k.JSONPath(t, `{.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].restartCount}`, "pod", "kubia-0"); got != "True 0" {
		t.Errorf("kubia-0 Ready and restarts after kubectl debug: %q, want \"True 0\"", got)
	}
}
