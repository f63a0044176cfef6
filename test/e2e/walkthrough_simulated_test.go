package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// revisionWatchExpr prints one pod's name, revision hash and Ready status per line.
const revisionWatchExpr = `{.metadata.name} {.metadata.labels.controller-revision-hash} {.status.conditions[?(@.type=="Ready")].status}{"\n"}`

// firstLine returns the 1-based index of the first watch line whose fields
// start with the given ones, or 0.
func firstLine(watch string, fields ...string) int {
	sc := bufio.NewScanner(strings.NewReader(watch))
	n := 0
outer:
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) < len(fields) {
			continue
		}
		for i, want := range fields {
			if f[i] != want {
				continue outer
			}
		}
		return n
	}
	return 0
}

// simWeb wraps the kubectl of a simulated cluster for the web set.
type simWeb struct {
	t *testing.T
	k *harness.Client
}

// revisions returns each pod's controller-revision-hash.
func (s simWeb) revisions() map[string]string {
	s.t.Helper()
	r := s.k.MustRun(s.t, "get", "pods", "-l", "app=nginx", "-o", "json")
	var list struct {
		Items []struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for _, it := range list.Items {
		out[it.Metadata.Name] = it.Metadata.Labels["controller-revision-hash"]
	}
	return out
}

// observed waits until the controller observed the set's current generation
// and returns its update revision.
func (s simWeb) observed() string {
	s.t.Helper()
	gen := s.k.JSONPath(s.t, "{.metadata.generation}", "statefulset", "web")
	s.k.WaitJSONPath(s.t, waitBound, "{.status.observedGeneration}", gen, "statefulset", "web")
	return s.k.JSONPath(s.t, "{.status.updateRevision}", "statefulset", "web")
}

// waitPodRevision waits until pod has revision rev and is Ready.
func (s simWeb) waitPodRevision(pod, rev string) {
	s.t.Helper()
	s.k.WaitJSONPath(s.t, 2*time.Minute, `{.metadata.labels.controller-revision-hash} {.status.conditions[?(@.type=="Ready")].status}`,
		rev+" True", "pod", pod)
}

// TestWalkthroughSimulated is seeds 002/004 on three simulated nodes:
// ordered creation, scaling that keeps claims, rolling updates in reverse
// ordinal order, partitions, OnDelete, rollout history/undo/status and
// orphaning delete with adoption.
func TestWalkthroughSimulated(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t, "--simulate-nodes", "3")
	k := u.K
	s := simWeb{t: t, k: k}

	w := k.Start(t, "get", "pods", "-l", "app=nginx", "-w", "-o", "jsonpath="+readyWatchExpr)
	k.MustRun(t, "apply", "-f", example(t, "web/statefulset.yaml"))
	u.WaitReady(t, "web", 3)
	assertOrdered(t, waitWatch(t, w, "web", 3), "web", 3)
	w.Stop(t)
	nodes := strings.Fields(k.JSONPath(t, "{.items[*].metadata.name}", "nodes"))
	if len(nodes) != 3 {
		t.Errorf("nodes: %v, want 3 simulated nodes", nodes)
	}

	t.Run("scale 3 to 5 to 2 keeps claims", func(t *testing.T) {
		w := k.Start(t, "get", "pods", "-l", "app=nginx", "-w", "-o", "jsonpath="+readyWatchExpr)
		k.MustRun(t, "scale", "statefulset", "web", "--replicas=5")
		u.WaitReady(t, "web", 5)
		out := waitWatch(t, w, "web", 5)
		if a, b := firstLine(out, "web-3", "True"), firstLine(out, "web-4"); b == 0 || a == 0 || b < a {
			t.Errorf("web-4 appeared before web-3 was Ready:\n%s", out)
		}
		w.Stop(t)
		for i := 0; i < 5; i++ {
			k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", fmt.Sprintf("www-web-%d", i))
		}
		k.MustRun(t, "scale", "statefulset", "web", "--replicas=2")
		for _, p := range []string{"web-4", "web-3", "web-2"} {
			k.WaitGone(t, 2*time.Minute, "pod", p)
		}
		k.WaitJSONPath(t, waitBound, "{.status.replicas}", "2", "statefulset", "web")
		for i := 0; i < 5; i++ {
			k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", fmt.Sprintf("www-web-%d", i))
		}
		k.MustRun(t, "scale", "statefulset", "web", "--replicas=3")
		u.WaitReady(t, "web", 3)
	})

	t.Run("set image updates web-2, web-1, web-0", func(t *testing.T) {
		old := s.observed()
		w := k.Start(t, "get", "pods", "-l", "app=nginx", "-w", "-o", "jsonpath="+revisionWatchExpr)
		k.MustRun(t, "set", "image", "statefulset/web", "nginx=nginx:1.22")
		rev := s.observed()
		if rev == old {
			t.Fatalf("update revision unchanged (%s) after set image", rev)
		}
		r := k.MustRun(t, "rollout", "status", "statefulset/web", "--timeout=2m")
		if !strings.Contains(r.Stdout, "partitioned roll out complete: 3 new pods have been updated...") {
			t.Errorf("rollout status: %s", r)
		}
		for _, p := range []string{"web-0", "web-1", "web-2"} {
			s.waitPodRevision(p, rev)
		}
		var out string
		err := harness.WaitFor(time.Minute, func() (bool, error) {
			out = w.Stdout()
			return firstLine(out, "web-0", rev, "True") > 0, nil
		})
		if err != nil {
			t.Fatalf("watch never showed web-0 updated:\n%s", out)
		}
		w.Stop(t)
		// Each pod is replaced only after the next higher one is updated and Ready.
		for _, pair := range [][2]string{{"web-2", "web-1"}, {"web-1", "web-0"}} {
			ready, next := firstLine(out, pair[0], rev, "True"), firstLine(out, pair[1], rev)
			if ready == 0 || next == 0 || next < ready {
				t.Errorf("%s got revision %s (line %d) before %s was updated and Ready (line %d):\n%s",
					pair[1], rev, next, pair[0], ready, out)
			}
		}
		if got := k.JSONPath(t, "{.status.currentRevision}", "statefulset", "web"); got != rev {
			t.Errorf("currentRevision %q after the rollout, want %q", got, rev)
		}
	})

	t.Run("partition 2 updates only ordinals >= 2", func(t *testing.T) {
		before := s.revisions()
		k.MustRun(t, "patch", "statefulset", "web", "-p",
			`{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}`)
		k.MustRun(t, "set", "image", "statefulset/web", "nginx=nginx:1.23")
		rev := s.observed()
		s.waitPodRevision("web-2", rev)
		r := k.MustRun(t, "rollout", "status", "statefulset/web", "--timeout=2m")
		if !strings.Contains(r.Stdout, "partitioned roll out complete: 1 new pods have been updated...") {
			t.Errorf("rollout status with partition 2: %s", r)
		}
		after := s.revisions()
		for _, p := range []string{"web-0", "web-1"} {
			if after[p] != before[p] {
				t.Errorf("%s below the partition changed revision %s -> %s", p, before[p], after[p])
			}
		}
		if got := k.JSONPath(t, "{.spec.containers[0].image}", "pod", "web-2"); got != "nginx:1.23" {
			t.Errorf("web-2 image %q, want nginx:1.23", got)
		}
		if got := k.JSONPath(t, "{.spec.containers[0].image}", "pod", "web-0"); got != "nginx:1.22" {
			t.Errorf("web-0 image %q, want nginx:1.22 (below the partition)", got)
		}
	})

	t.Run("rollout history and undo", func(t *testing.T) {
		r := k.MustRun(t, "rollout", "history", "statefulset/web")
		if !strings.Contains(r.Stdout, "statefulset.apps/web") || harness.Header(strings.SplitN(r.Stdout, "\n", 2)[1]) != "REVISION CHANGE-CAUSE" {
			t.Errorf("rollout history header: %s", r)
		}
		revs := regexp.MustCompile(`(?m)^(\d+)\s+<none>\s*$`).FindAllStringSubmatch(r.Stdout, -1)
		if len(revs) != 3 || revs[0][1] != "1" || revs[2][1] != "3" {
			t.Errorf("rollout history revisions %v, want 1, 2, 3: %s", revs, r)
		}
		r2 := k.MustRun(t, "rollout", "history", "statefulset/web", "--revision=2")
		if !strings.Contains(r2.Stdout, "nginx:1.22") {
			t.Errorf("rollout history --revision=2 lacks nginx:1.22: %s", r2)
		}
		r = k.MustRun(t, "rollout", "undo", "statefulset/web")
		if strings.TrimSpace(r.Stdout) != "statefulset.apps/web rolled back" {
			t.Errorf("rollout undo: %s", r)
		}
		if got := k.JSONPath(t, "{.spec.template.spec.containers[0].image}", "statefulset", "web"); got != "nginx:1.22" {
			t.Errorf("template image after undo %q, want nginx:1.22", got)
		}
		k.MustRun(t, "patch", "statefulset", "web", "-p", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
		rev := s.observed()
		for _, p := range []string{"web-0", "web-1", "web-2"} {
			s.waitPodRevision(p, rev)
			if got := k.JSONPath(t, "{.spec.containers[0].image}", "pod", p); got != "nginx:1.22" {
				t.Errorf("%s image %q after undo, want nginx:1.22", p, got)
			}
		}
		r = k.MustRun(t, "rollout", "history", "statefulset/web")
		if !regexp.MustCompile(`(?m)^4\s+<none>`).MatchString(r.Stdout) || regexp.MustCompile(`(?m)^2\s+<none>`).MatchString(r.Stdout) {
			t.Errorf("history after undo should renumber revision 2 as 4: %s", r)
		}
	})

	t.Run("OnDelete updates only deleted pods", func(t *testing.T) {
		k.MustRun(t, "patch", "statefulset", "web", "-p", `{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}`)
		k.MustFail(t, []string{"rollout status is only available for RollingUpdate strategy type"},
			"rollout", "status", "statefulset/web")
		before := s.revisions()
		k.MustRun(t, "set", "image", "statefulset/web", "nginx=nginx:1.24")
		rev := s.observed()
		k.WaitJSONPath(t, waitBound, "{.status.readyReplicas}", "3", "statefulset", "web")
		if after := s.revisions(); after["web-0"] != before["web-0"] || after["web-1"] != before["web-1"] || after["web-2"] != before["web-2"] {
			t.Errorf("OnDelete changed pods without a delete: %v -> %v", before, after)
		}
		k.MustRun(t, "delete", "pod", "web-1")
		s.waitPodRevision("web-1", rev)
		if got := k.JSONPath(t, "{.spec.containers[0].image}", "pod", "web-1"); got != "nginx:1.24" {
			t.Errorf("deleted web-1 came back with %q, want nginx:1.24", got)
		}
		after := s.revisions()
		for _, p := range []string{"web-0", "web-2"} {
			if after[p] != before[p] {
				t.Errorf("%s changed revision under OnDelete without a delete: %s -> %s", p, before[p], after[p])
			}
		}
	})

	t.Run("delete --cascade=orphan then adopt", func(t *testing.T) {
		// Bring every pod to the manifest's template first, so the
		// re-created set adopts them without a rolling update.
		k.MustRun(t, "patch", "statefulset", "web", "-p",
			`{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.21"}]}}}}`)
		rev := s.observed()
		for _, p := range []string{"web-0", "web-1", "web-2"} {
			s.waitPodRevision(p, rev)
		}
		uids := map[string]string{}
		for i := 0; i < 3; i++ {
			p := fmt.Sprintf("web-%d", i)
			uids[p] = k.JSONPath(t, "{.metadata.uid}", "pod", p)
		}
		oldSet := k.JSONPath(t, "{.metadata.uid}", "statefulset", "web")
		k.MustRun(t, "delete", "statefulset", "web", "--cascade=orphan")
		k.WaitGone(t, waitBound, "statefulset", "web")
		for p := range uids {
			k.WaitJSONPath(t, waitBound, "{.metadata.ownerReferences}", "", "pod", p)
		}
		for p, uid := range uids {
			if got := k.JSONPath(t, "{.metadata.uid}", "pod", p); got != uid {
				t.Errorf("%s replaced after the orphaning delete (uid %s -> %s)", p, uid, got)
			}
		}
		k.MustRun(t, "apply", "-f", example(t, "web/statefulset.yaml"))
		newSet := k.JSONPath(t, "{.metadata.uid}", "statefulset", "web")
		if newSet == oldSet {
			t.Fatalf("the set was not re-created")
		}
		for p := range uids {
			k.WaitJSONPath(t, waitBound, "{.metadata.ownerReferences[0].uid}", newSet, "pod", p)
		}
		u.WaitReady(t, "web", 3)
		if got := s.observed(); got != rev {
			t.Errorf("re-created set's update revision %s, want the adopted %s", got, rev)
		}
		for p, uid := range uids {
			if got := k.JSONPath(t, "{.metadata.uid}", "pod", p); got != uid {
				t.Errorf("%s was replaced instead of adopted (uid %s -> %s)", p, uid, got)
			}
		}
	})
}
