package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestWalkthroughChart is a Helm-chart StatefulSet (examples/chart, modelled
// on bitnami's postgresql) on a real node with the real kubectl (issue 8
// items 5 and 6):
//   - its volumeClaimTemplates carry apiVersion/kind; re-applying the
//     unchanged file client-side, server-side, and back is a no-op (no new
//     generation, no new ControllerRevision) and `kubectl diff` shows
//     nothing; a new image rolls the pod;
//   - subPath mounts work as kubelet's: a ConfigMap key and a Secret key as
//     single files, emptyDir subdirectories under a read-only root, a
//     subPathExpr with $(POD_NAME) in the claim; a ConfigMap update reaches
//     the whole-volume mount but not the subPath file.
func TestWalkthroughChart(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	file := example(t, "chart/postgresql.yaml")
	const set, pod = "my-postgresql", "my-postgresql-0"

	k.MustRun(t, "apply", "-f", file)
	u.WaitReady(t, set, 1)
	if got := k.JSONPath(t, "{.spec.volumeClaimTemplates[0].apiVersion}/{.spec.volumeClaimTemplates[0].kind}", "sts", set); got != "v1/PersistentVolumeClaim" {
		t.Errorf("stored claim template: %q, want v1/PersistentVolumeClaim", got)
	}
	k.WaitJSONPath(t, waitBound, "{.status.observedGeneration}", "1", "sts", set)
	revisions := func() int {
		t.Helper()
		r := k.MustRun(t, "get", "controllerrevisions", "-l", "app.kubernetes.io/instance=my-postgresql", "-o", "name")
		return len(strings.Fields(r.Stdout))
	}
	if n := revisions(); n != 1 {
		t.Fatalf("%d ControllerRevisions after create, want 1", n)
	}
	unchanged := func(step string, wantGen string, wantRevs int) {
		t.Helper()
		if g := k.JSONPath(t, "{.metadata.generation}", "sts", set); g != wantGen {
			t.Errorf("%s: generation %s, want %s", step, g, wantGen)
		}
		// Count revisions once the controller has seen this generation:
		// a new one would have been made by then.
		k.WaitJSONPath(t, time.Minute, "{.status.observedGeneration}", wantGen, "sts", set)
		if n := revisions(); n != wantRevs {
			t.Errorf("%s: %d ControllerRevisions, want %d", step, n, wantRevs)
		}
		// kubectl diff exits 0 with no output when nothing would change.
		if r := k.Run("diff", "-f", file); r.Err != nil || strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("%s: kubectl diff of the unchanged file: %s", step, r)
		}
	}

	// Item 5: the unchanged manifest, client-side, server-side, and back.
	// Every step below was checked against kube-apiserver 1.37.2 with the
	// same kubectl and file: same output, same generations.
	// kubectl resends the claim templates (an atomic list the server filled
	// with defaults: status.phase, volumeMode), so it says "configured",
	// as against kube; the server finds nothing changed.
	r := k.MustRun(t, "apply", "-f", file)
	if !strings.Contains(r.Stdout, "statefulset.apps/my-postgresql configured") {
		t.Errorf("client-side re-apply: %s", r)
	}
	unchanged("client-side re-apply", "1", 1)
	// The first server-side apply over a client-side one conflicts on the
	// atomic fields whose live value carries defaults the last-applied
	// configuration lacks (kube's lastAppliedManager); nothing is written.
	r = k.Run("apply", "--server-side", "-f", file)
	if r.Err == nil || !strings.Contains(r.Stderr, `Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:`) ||
		!strings.Contains(r.Stderr, "- .spec.volumeClaimTemplates\n") ||
		!strings.Contains(r.Stderr, `- .spec.template.spec.containers[name="postgresql"].env[name="POD_NAME"].valueFrom.fieldRef`) {
		t.Errorf("server-side apply over client-side apply: %s", r)
	}
	unchanged("refused server-side apply", "1", 1)
	// Forced, kubectl migrates the client-side manager's fields to its own
	// and applies again, which prunes the defaults the chart's
	// `rollingUpdate: {}` received (generation 2); the next apply has them
	// defaulted again (3); from then on every re-apply, server- or
	// client-side, is a no-op. The template never changes: no new revision,
	// no new pod.
	uid := k.JSONPath(t, "{.metadata.uid}", "pod", pod)
	k.MustRun(t, "apply", "--server-side", "--force-conflicts", "-f", file)
	if g := k.JSONPath(t, "{.metadata.generation}", "sts", set); g != "2" {
		t.Errorf("forced server-side apply: generation %s, want 2 (as kube)", g)
	}
	k.MustRun(t, "apply", "--server-side", "-f", file)
	if g := k.JSONPath(t, "{.metadata.generation}", "sts", set); g != "3" {
		t.Errorf("server-side apply after the migration: generation %s, want 3 (as kube)", g)
	}
	const gen = "3"
	r = k.MustRun(t, "apply", "--server-side", "-f", file)
	if !strings.Contains(r.Stdout, "statefulset.apps/my-postgresql serverside-applied") {
		t.Errorf("server-side re-apply: %s", r)
	}
	unchanged("server-side re-apply", gen, 1)
	k.MustRun(t, "apply", "-f", file)
	unchanged("client-side apply after server-side", gen, 1)
	k.MustRun(t, "apply", "-f", file)
	unchanged("client-side re-apply after server-side", gen, 1)
	if now := k.JSONPath(t, "{.metadata.uid}", "pod", pod); now != uid {
		t.Errorf("switching between client- and server-side apply replaced the pod (uid %s, was %s)", now, uid)
	}

	// Item 6: what the container sees through its subPath mounts.
	exec := func(script string) string {
		t.Helper()
		return k.MustRun(t, "exec", pod, "--", "sh", "-c", script).Stdout
	}
	if got := exec("test -f /opt/bitnami/scripts/setup.sh && head -1 /opt/bitnami/scripts/setup.sh"); got != "#!/bin/sh\n" {
		t.Errorf("ConfigMap key mounted with subPath: %q", got)
	}
	if got := exec("test -f /opt/bitnami/postgresql/secrets/postgres-password && cat /opt/bitnami/postgresql/secrets/postgres-password"); got != "change-me" {
		t.Errorf("Secret key mounted with subPath: %q", got)
	}
	// The emptyDir's subdirectories are the writable /tmp and conf under
	// a read-only root; the script copied the configuration there.
	if got := exec("grep -c port /opt/bitnami/postgresql/conf/postgresql.conf; echo x > /tmp/probe && cat /tmp/probe; touch /etc/x 2>/dev/null || echo ro"); got != "1\nx\nro\n" {
		t.Errorf("emptyDir subPath mounts (conf, /tmp, read-only root): %q", got)
	}
	// subPathExpr logs/$(POD_NAME) is that directory of the claim.
	if got := exec("cat /bitnami/postgresql/logs/my-postgresql-0/postgresql.log"); got != "my-postgresql-0 started as 1001\n" {
		t.Errorf("claim subPathExpr logs/$(POD_NAME), seen through the whole claim: %q", got)
	}

	// A ConfigMap update reaches the whole-volume mount, never the subPath file.
	k.MustRun(t, "patch", "configmap", "my-postgresql-scripts", "--type=merge", "-p", `{"data":{"setup.sh":"#!/bin/sh\n# v2\nexec sleep infinity\n"}}`)
	err := harness.WaitFor(3*time.Minute, func() (bool, error) {
		return strings.Contains(k.Run("exec", pod, "--", "cat", "/opt/bitnami/postgresql/mounted-conf/setup.sh").Stdout, "# v2"), nil
	})
	if err != nil {
		t.Fatalf("the ConfigMap update never reached the whole-volume mount: %v", err)
	}
	if got := exec("head -3 /opt/bitnami/scripts/setup.sh"); strings.Contains(got, "# v2") || !strings.Contains(got, "# Stands in for bitnami's entrypoint") {
		t.Errorf("the ConfigMap update reached the subPath mount (kubelet never updates one): %q", got)
	}

	// A new image rolls: one more generation and revision, the pod replaced.
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	newImage := "docker.io/bitnami/postgresql:17.5.0-debian-12-r9"
	changed := u.WriteFile(t, "postgresql-r9.yaml", strings.Replace(string(orig), "postgresql:17.5.0-debian-12-r8", "postgresql:17.5.0-debian-12-r9", 1))
	uid = k.JSONPath(t, "{.metadata.uid}", "pod", pod)
	k.MustRun(t, "apply", "-f", changed)
	k.MustRun(t, "rollout", "status", "sts/"+set, "--timeout=3m")
	if g := k.JSONPath(t, "{.metadata.generation}", "sts", set); g == gen {
		t.Errorf("generation after a new image: %s, unchanged", g)
	}
	if n := revisions(); n != 2 {
		t.Errorf("%d ControllerRevisions after a new image, want 2", n)
	}
	u.WaitReady(t, set, 1)
	if img, newUID := k.JSONPath(t, "{.spec.containers[0].image}", "pod", pod), k.JSONPath(t, "{.metadata.uid}", "pod", pod); img != newImage || newUID == uid {
		t.Errorf("after the roll: pod image %s uid %s (was %s), want %s and a new pod", img, newUID, uid, newImage)
	}
	// The claim kept its data across the roll; the new pod logged again.
	if got := exec("cat /bitnami/postgresql/logs/my-postgresql-0/postgresql.log | wc -l"); strings.TrimSpace(got) != strconv.Itoa(2) {
		t.Errorf("log lines in the claim after the roll: %q, want 2", got)
	}
}
