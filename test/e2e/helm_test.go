package e2e

import (
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestHelmChart (issue 11): examples/helm/kvstore, a chart written as the
// public charts of stateful apps are (ServiceAccount, Role and RoleBinding,
// a ConfigMap script mounted with subPath and run by an init container,
// headless and client Services, a StatefulSet whose volumeClaimTemplates
// carry apiVersion/kind, a PodDisruptionBudget, a NetworkPolicy, a
// Deployment beside the set and a pre-upgrade hook Job), goes through
// `helm install --wait`, `helm upgrade --wait` with a template change that
// rolls the set (the hook Job runs to completion first, then is deleted by
// its hook-succeeded policy) and `helm uninstall --wait`, with helm v4, on
// simulated nodes and on a real node.
func TestHelmChart(t *testing.T) {
	t.Parallel()
	helmPath := harness.LookHelm(t)
	chart := example(t, "helm/kvstore")
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"simulated", []string{"--simulate-nodes", "3"}},
		{"real", nil},
	} {
		t.Run(mode.name, func(t *testing.T) {
			u := harness.StartUp(t, mode.args...)
			k := u.K
			helm := u.Helm(t, helmPath)
			helm.Timeout = 4 * time.Minute
			const release, set = "kv", "kv-kvstore"

			helm.MustRun(t, "install", release, chart, "--wait", "--timeout", "3m")
			if got := k.JSONPath(t, "{.status.readyReplicas} {.spec.volumeClaimTemplates[0].apiVersion} {.spec.volumeClaimTemplates[0].kind}", "statefulset", set); got != "3 v1 PersistentVolumeClaim" {
				t.Errorf("after install: ready replicas and claim template %q", got)
			}
			for _, obj := range []string{"serviceaccount/" + set, "role/" + set + "-endpoint-reader", "rolebinding/" + set + "-endpoint-reader",
				"configmap/" + set + "-scripts", "service/" + set, "service/" + set + "-headless",
				"poddisruptionbudget/" + set, "networkpolicy/" + set, "deployment/" + set + "-companion"} {
				k.MustRun(t, "get", obj)
			}
			k.WaitJSONPath(t, waitBound, "{.status.expectedPods} {.status.disruptionsAllowed}", "3 1", "pdb", set)
			k.WaitJSONPath(t, waitBound, "{.status.availableReplicas}", "1", "deployment", set+"-companion")
			if mode.args == nil {
				// The init container ran the ConfigMap's script, mounted as
				// one file with subPath, and it laid out the claim.
				if got := strings.TrimSpace(k.MustRun(t, "exec", set+"-1", "--", "cat", "/var/data/member/name").Stdout); got != set+"-1" {
					t.Errorf("the init container's setup.sh wrote %q, want %s-1", got, set)
				}
			}
			before := k.JSONPath(t, "{.status.updateRevision}", "statefulset", set)

			// A template change: the pre-upgrade Job must complete before
			// helm applies it, then the set rolls.
			helm.MustRun(t, "upgrade", release, chart, "--set", "podAnnotations.rollout=two", "--wait", "--timeout", "3m")
			after := k.JSONPath(t, "{.status.updateRevision}", "statefulset", set)
			if after == before {
				t.Fatalf("helm upgrade with a new pod annotation did not make a new revision (%s)", before)
			}
			k.WaitJSONPath(t, waitBound, "{.status.currentRevision} {.status.updatedReplicas} {.status.readyReplicas}", after+" 3 3", "statefulset", set)
			for _, pod := range []string{set + "-0", set + "-1", set + "-2"} {
				if got := k.JSONPath(t, `{.metadata.labels.controller-revision-hash} {.metadata.annotations.rollout}`, "pod", pod); got != after+" two" {
					t.Errorf("%s after the upgrade: revision and annotation %q, want %q", pod, got, after+" two")
				}
			}
			k.WaitGone(t, waitBound, "job", set+"-migrate")
			if out := helm.MustRun(t, "history", release, "-o", "json").Stdout; !strings.Contains(out, `"status":"deployed"`) || !strings.Contains(out, `"revision":2`) {
				t.Errorf("helm history after the upgrade: %s", out)
			}

			helm.MustRun(t, "uninstall", release, "--wait", "--timeout", "3m")
			for _, obj := range []string{"statefulset/" + set, "deployment/" + set + "-companion", "poddisruptionbudget/" + set,
				"networkpolicy/" + set, "serviceaccount/" + set, "role/" + set + "-endpoint-reader", "service/" + set} {
				k.WaitGone(t, waitBound, strings.Split(obj, "/")...)
			}
			// As on Kubernetes, the claims outlive the release.
			for _, c := range []string{"data-" + set + "-0", "data-" + set + "-1", "data-" + set + "-2"} {
				k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", c)
			}
		})
	}
}
