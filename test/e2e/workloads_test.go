package e2e

import (
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestDeploymentKubectl: kubectl create deployment and rollout status,
// kube's columns for deploy and rs, set image rolling a second revision,
// rollout history and undo back to the first image, scale, an image change
// held by rollout pause until resume, rollout restart, and delete
// taking the ReplicaSets and pods with it.
func TestDeploymentKubectl(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t, "--simulate-nodes", "2")
	k := u.K
	k.MustRun(t, "create", "deployment", "web", "--image=nginx:1.26", "--replicas=3")
	k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=90s")
	out := k.MustRun(t, "get", "deploy").Stdout
	if h := harness.Header(out); h != "NAME READY UP-TO-DATE AVAILABLE AGE" {
		t.Errorf("kubectl get deploy header %q", h)
	}
	if r := harness.Rows(out); len(r) != 1 || strings.Join(r[0][:4], " ") != "web 3/3 3 3" {
		t.Errorf("kubectl get deploy rows %q", r)
	}

	k.MustRun(t, "set", "image", "deployment/web", "nginx=nginx:1.27")
	k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=90s")
	out = k.MustRun(t, "get", "rs", "-l", "app=web").Stdout
	if h := harness.Header(out); h != "NAME DESIRED CURRENT READY AGE" {
		t.Errorf("kubectl get rs header %q", h)
	}
	sizes := map[string]bool{}
	for _, r := range harness.Rows(out) {
		sizes[strings.Join(r[1:4], " ")] = true
	}
	if len(sizes) != 2 || !sizes["3 3 3"] || !sizes["0 0 0"] {
		t.Errorf("replicasets after set image:\n%s", out)
	}
	hist := k.MustRun(t, "rollout", "history", "deployment/web").Stdout
	if !strings.Contains(hist, "REVISION") || !strings.Contains(hist, "\n1 ") || !strings.Contains(hist, "\n2 ") {
		t.Errorf("rollout history:\n%s", hist)
	}

	k.MustRun(t, "rollout", "undo", "deployment/web")
	k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=90s")
	if got := k.JSONPath(t, `{.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\.kubernetes\.io/revision}`, "deploy", "web"); got != "nginx:1.26 3" {
		t.Errorf("after undo: image and revision %q, want nginx:1.26 3", got)
	}

	k.MustRun(t, "scale", "deployment/web", "--replicas=5")
	k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=90s")
	k.WaitJSONPath(t, 90*time.Second, "{.status.readyReplicas}", "5", "deploy", "web")

	// Paused, an image change waits; resumed, it rolls revision 4; a
	// restart rolls revision 5.
	k.MustRun(t, "rollout", "pause", "deployment/web")
	k.MustRun(t, "set", "image", "deployment/web", "nginx=nginx:1.28")
	k.WaitJSONPath(t, 90*time.Second, `{.status.conditions[?(@.type=="Progressing")].reason}`, "DeploymentPaused", "deploy", "web")
	if n := len(strings.Fields(k.JSONPath(t, "{.items[*].metadata.name}", "rs", "-l", "app=web"))); n != 2 {
		t.Errorf("paused: %d replicasets, want 2", n)
	}
	k.MustRun(t, "rollout", "resume", "deployment/web")
	k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=90s")
	k.MustRun(t, "rollout", "restart", "deployment/web")
	k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=90s")
	if got := k.JSONPath(t, `{.metadata.annotations.deployment\.kubernetes\.io/revision}`, "deploy", "web"); got != "5" {
		t.Errorf("revision after resume and restart %q, want 5", got)
	}

	pods := strings.Fields(k.JSONPath(t, "{.items[*].metadata.name}", "pods", "-l", "app=web"))
	sets := strings.Fields(k.JSONPath(t, "{.items[*].metadata.name}", "rs", "-l", "app=web"))
	k.MustRun(t, "delete", "deployment", "web")
	for _, p := range pods {
		k.WaitGone(t, 90*time.Second, "pod", p)
	}
	for _, s := range sets {
		k.WaitGone(t, 90*time.Second, "rs", s)
	}
}
