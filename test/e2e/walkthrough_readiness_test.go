package e2e

import (
	"strings"
	"testing"

	"petset/test/harness"
)

// readinessSet is an OrderedReady set whose pods are Ready only once
// /data/ready exists on their own volume.
const readinessSet = `apiVersion: v1
kind: Service
metadata:
  name: gate
spec:
  clusterIP: None
  selector:
    app: gate
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: gate
spec:
  serviceName: gate
  replicas: 2
  selector:
    matchLabels:
      app: gate
  template:
    metadata:
      labels:
        app: gate
    spec:
      containers:
      - name: main
        image: busybox
        command: ["sleep", "3600"]
        readinessProbe:
          exec:
            command: ["test", "-f", "/data/ready"]
          periodSeconds: 1
        volumeMounts:
        - name: data
          mountPath: /data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Mi
`

// TestWalkthroughReadinessGate is seed 002's readiness probe: a failing
// probe keeps an OrderedReady set from creating the next pod until it passes.
func TestWalkthroughReadinessGate(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", u.WriteFile(t, "gate.yaml", readinessSet))
	k.WaitJSONPath(t, waitBound, "{.status.phase}", "Running", "pod", "gate-0")
	// The probe has run and failed (the kubelet reports the container
	// started but not ready) and the controller has seen that state.
	k.WaitJSONPath(t, waitBound, `{.status.containerStatuses[0].started}`, "true", "pod", "gate-0")
	k.WaitJSONPath(t, waitBound, `{.status.conditions[?(@.type=="Ready")].status}`, "False", "pod", "gate-0")
	gen := k.JSONPath(t, "{.metadata.generation}", "statefulset", "gate")
	k.WaitJSONPath(t, waitBound, "{.status.observedGeneration}", gen, "statefulset", "gate")
	k.WaitJSONPath(t, waitBound, "{.status.replicas}", "1", "statefulset", "gate")
	if r := k.Run("get", "pod", "gate-1", "--ignore-not-found", "-o", "name"); strings.TrimSpace(r.Stdout) != "" {
		t.Fatalf("gate-1 was created while gate-0 is not Ready: %s", r)
	}
	if got := k.JSONPath(t, "{.status.readyReplicas}", "statefulset", "gate"); got != "" && got != "0" {
		t.Errorf("readyReplicas = %q while gate-0 fails its probe", got)
	}

	k.MustRun(t, "exec", "gate-0", "--", "touch", "/data/ready")
	k.WaitJSONPath(t, waitBound, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "pod", "gate-0")
	k.WaitJSONPath(t, waitBound, "{.status.phase}", "Running", "pod", "gate-1")
	// gate-1 has its own volume: it stays not Ready until its own file exists.
	k.WaitJSONPath(t, waitBound, `{.status.containerStatuses[0].started}`, "true", "pod", "gate-1")
	k.WaitJSONPath(t, waitBound, `{.status.conditions[?(@.type=="Ready")].status}`, "False", "pod", "gate-1")
	k.MustRun(t, "exec", "gate-1", "--", "touch", "/data/ready")
	u.WaitReady(t, "gate", 2)
}
