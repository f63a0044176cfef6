package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// sharedVolumeSet is seed 000's kubia set, one replica, whose claim is of
// the "shared" StorageClass (docs/storage.md).
const sharedVolumeSet = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kubia
spec:
  serviceName: kubia
  replicas: 1
  selector:
    matchLabels:
      app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: luksa/kubia-pet
        ports:
        - name: http
          containerPort: 8080
        volumeMounts:
        - name: data
          mountPath: /var/data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      storageClassName: shared
      resources:
        requests:
          storage: 1Mi
      accessModes:
      - ReadWriteOnce
`

// TestSharedVolumeFollowsPod: the server and two agent hosts share one
// --shared-volume-dir (the host's filesystem, as agents of one machine
// do). kubia-0, whose claim is of the shared class, stores a greeting on
// node A; A's link goes down, A turns NotReady, the user force-deletes
// kubia-0, and the new kubia-0 on node B reads the greeting A's copy wrote.
//
// Its own network resources (bridge psmz0, 10.221-10.223, port 16943), so
// it can run beside the other multi-node tests; the node-monitor grace is
// short, so A is NotReady in seconds; the fence (8s) still closes before
// that, 12s grace minus the 8s lease's 2s renewals (docs/fencing.md).
func TestSharedVolumeFollowsPod(t *testing.T) {
	t.Parallel() // its own bridge, namespaces, addresses and ports
	kubectl := harness.LookTool(t, "kubectl")
	harness.LookTool(t, "curl")
	shared := filepath.Join(t.TempDir(), "shared")
	dirArgs := []string{"--shared-volume-dir", shared}
	m := harness.StartMultiNodeConfig(t, 2, harness.MultiNodeConfig{
		Prefix: "psmz", Subnet: "10.221.0", PodCIDRBase: "10.222",
		ServiceCIDR: "10.223.0.0/16", Port: 16943,
		ServerArgs: append([]string{"--node-monitor-grace-period", "12s", "--node-monitor-period", "1s"}, dirArgs...),
		AgentArgs:  append([]string{"--fence-timeout", "8s", "--node-lease-duration", "8s"}, dirArgs...),
	})
	k := m.Kubectl(t, harness.Kubectl{Name: "kubectl", Path: kubectl})
	for _, h := range m.Nodes {
		k.WaitJSONPath(t, 2*time.Minute, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "node", h.Name)
	}
	id, err := os.ReadFile(filepath.Join(shared, ".petset-shared-root"))
	if err != nil {
		t.Fatalf("the shared root's ID: %v", err)
	}
	for _, h := range m.Nodes {
		if got := k.JSONPath(t, `{.metadata.labels.petset\.io/shared-volume-root}`, "node", h.Name); got != strings.TrimSpace(string(id)) {
			t.Fatalf("node %s: shared-volume-root label %q, want %q", h.Name, got, id)
		}
	}
	if out := k.MustRun(t, "get", "storageclass").Stdout; !strings.Contains(out, "shared") || !strings.Contains(out, "petset.io/shared") {
		t.Fatalf("kubectl get storageclass:\n%s", out)
	}

	k.MustRun(t, "apply", "-f", example(t, "kubia/kubia-service-headless.yaml"),
		"-f", m.WriteFile(t, "kubia-shared.yaml", sharedVolumeSet))
	k.WaitJSONPath(t, 2*time.Minute, "{.status.readyReplicas}", "1", "statefulset", "kubia")
	lost := m.Node(t, k.JSONPath(t, "{.spec.nodeName}", "pod", "kubia-0"))
	oldUID := k.JSONPath(t, "{.metadata.uid}", "pod", "kubia-0")
	oldIP := k.JSONPath(t, "{.status.podIP}", "pod", "kubia-0")
	pv := k.JSONPath(t, "{.spec.volumeName}", "pvc", "data-kubia-0")

	// kubia-0 stores the seed's greeting, from the host (a client outside
	// every node).
	const greeting = "Hey there! This greeting was submitted to kubia-0."
	out, err := exec.Command("curl", "-sS", "--max-time", "5", "-X", "POST", "-d", greeting, "http://"+oldIP+":8080/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Data stored on pod kubia-0") {
		t.Fatalf("POST to kubia-0 on %s: %v %q", lost.Name, err, out)
	}
	if b, err := os.ReadFile(filepath.Join(shared, pv, "kubia.txt")); err != nil || string(b) != greeting {
		t.Fatalf("the greeting under the shared dir: %v %q", err, b)
	}

	// The seed's failure: A's eth0 down, A NotReady, the forced delete.
	lost.LinkDown(t)
	k.WaitJSONPath(t, time.Minute, `{.status.conditions[?(@.type=="Ready")].status}`, "Unknown", "node", lost.Name)
	k.MustRun(t, "delete", "pod", "kubia-0", "--force", "--grace-period", "0")
	var newIP string
	if err := harness.WaitFor(time.Minute, func() (bool, error) {
		r := k.Run("get", "pod", "kubia-0", "-o", `jsonpath={.metadata.uid} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}`)
		f := strings.Fields(r.Stdout)
		if r.Err != nil || len(f) != 3 || f[0] == oldUID || f[2] != "True" {
			return false, nil
		}
		newIP = f[1]
		return true, nil
	}); err != nil {
		t.Fatalf("no new Ready kubia-0 after the forced delete: %v\n%s\n%s", err,
			k.Run("get", "pods", "-o", "wide").Stdout, k.Run("describe", "pod", "kubia-0").Stdout)
	}
	if node := k.JSONPath(t, "{.spec.nodeName}", "pod", "kubia-0"); node == lost.Name {
		t.Fatalf("the new kubia-0 is on the lost node %s", node)
	}
	if got := k.JSONPath(t, "{.spec.volumeName}", "pvc", "data-kubia-0"); got != pv {
		t.Fatalf("the claim is bound to %s now, was %s", got, pv)
	}
	// The new kubia-0, on the other node, reads what the old one wrote.
	out, err = exec.Command("curl", "-sS", "--max-time", "5", "http://"+newIP+":8080/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "You've hit kubia-0") || !strings.Contains(string(out), "Data stored on this pod: "+greeting) {
		t.Fatalf("GET from the new kubia-0: %v %q", err, out)
	}
}
