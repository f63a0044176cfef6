package e2e

import (
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestWalkthroughWaitsExplained follows examples/mysql (seed 002's MySQL
// set, unchanged) and two more waits on `petset up` with real kubectl: every
// wait shows in `kubectl get pods` and is explained by kubelet's events.
//
//   - mysql: before its ConfigMap exists mysql-0 is ContainerCreating with a
//     FailedMount event in kubelet's words; once the ConfigMap exists the pod
//     goes on to the image, which petset cannot run: ErrImagePull /
//     ImagePullBackOff with Pulling, Failed and BackOff events; with a host
//     command (and mysql-0 deleted, as a StatefulSet stuck on a broken pod
//     needs on Kubernetes too) it runs.
//   - a claim bound to a gcePersistentDisk volume: FailedMount naming the
//     volume type petset does not support.
//   - a pod deleted with a long grace period whose process ignores SIGTERM:
//     Terminating, with a Killing event.
func TestWalkthroughWaitsExplained(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K

	gce := u.WriteFile(t, "gce.yaml", `apiVersion: v1
kind: PersistentVolume
metadata:
  name: gce-disk
spec:
  capacity:
    storage: 1Gi
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  gcePersistentDisk:
    pdName: my-data-disk
    fsType: ext4
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: gce-claim
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: gce-disk
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: gce-pod
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "infinity"]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: gce-claim
`)
	slow := u.WriteFile(t, "slow-stop.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: slow-stop
spec:
  terminationGracePeriodSeconds: 300
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "trap 'echo SIGTERM ignored' TERM; while true; do sleep 1; done"]
`)
	k.MustRun(t, "apply", "-f", example(t, "mysql/statefulset.yaml"), "-f", gce, "-f", slow)

	t.Run("mysql", func(t *testing.T) {
		waitStatus(t, k, "mysql-0", "ContainerCreating")
		waitEvent(t, k, "mysql-0", "FailedMount", `MountVolume.SetUp failed for volume "config" : configmap "mysql-config" not found`)
		if d := k.MustRun(t, "describe", "pod", "mysql-0").Stdout; !strings.Contains(d, "FailedMount") ||
			!strings.Contains(d, `configmap "mysql-config" not found`) || !strings.Contains(d, "ContainerCreating") {
			t.Errorf("describe pod mysql-0 does not explain the wait:\n%s", d)
		}

		k.MustRun(t, "apply", "-f", example(t, "mysql/configmap.yaml"))
		waitEvent(t, k, "mysql-0", "Failed", `Failed to pull image "mysql:8.0": image not found in the petset image catalog`)
		waitEvent(t, k, "mysql-0", "Failed", "Error: ErrImagePull")
		waitEvent(t, k, "mysql-0", "Pulling", `Pulling image "mysql:8.0"`)
		waitEvent(t, k, "mysql-0", "BackOff", `Back-off pulling image "mysql:8.0"`)
		waitStatus(t, k, "mysql-0", "ImagePullBackOff")

		k.MustRun(t, "patch", "statefulset", "mysql", "--type=json",
			"-p", `[{"op":"add","path":"/spec/template/spec/containers/0/command","value":["sleep","infinity"]}]`)
		k.MustRun(t, "delete", "pod", "mysql-0", "--wait=false")
		k.WaitJSONPath(t, 3*time.Minute, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "pod", "mysql-0")
		waitStatus(t, k, "mysql-0", "Running")
		if got := k.JSONPath(t, "{.spec.containers[0].command}", "pod", "mysql-0"); !strings.Contains(got, "sleep") {
			t.Errorf("mysql-0 runs without the host command: %s", got)
		}
	})

	t.Run("gcePersistentDisk", func(t *testing.T) {
		waitStatus(t, k, "gce-pod", "ContainerCreating")
		waitEvent(t, k, "gce-pod", "FailedMount", `MountVolume.SetUp failed for volume "data" : volume type not supported by petset: persistentvolume "gce-disk" is gcePersistentDisk`)
	})

	t.Run("terminating", func(t *testing.T) {
		waitStatus(t, k, "slow-stop", "Running")
		k.MustRun(t, "delete", "pod", "slow-stop", "--wait=false")
		waitStatus(t, k, "slow-stop", "Terminating")
		waitEvent(t, k, "slow-stop", "Killing", "Stopping container main")
		// Still Terminating once the container got its SIGTERM, not Completed.
		if got := podStatusColumn(t, k, "slow-stop"); got != "Terminating" {
			t.Errorf("slow-stop shows %q while its container runs out its grace period", got)
		}
		k.MustRun(t, "delete", "pod", "slow-stop", "--grace-period=1")
		k.WaitGone(t, time.Minute, "pod", "slow-stop")
	})
}

// podStatusColumn is the STATUS column of `kubectl get pod name`.
func podStatusColumn(t *testing.T, k *harness.Client, name string) string {
	t.Helper()
	r := k.Run("get", "pod", name)
	if r.Err != nil {
		return ""
	}
	rows := harness.Rows(r.Stdout)
	if harness.Header(r.Stdout) != "NAME READY STATUS RESTARTS AGE" || len(rows) != 1 || len(rows[0]) < 3 {
		t.Fatalf("unexpected table: %s", r)
	}
	return rows[0][2]
}

// waitStatus waits until `kubectl get pod name` shows status.
func waitStatus(t *testing.T, k *harness.Client, name, status string) {
	t.Helper()
	last := ""
	err := harness.WaitFor(3*time.Minute, func() (bool, error) {
		last = podStatusColumn(t, k, name)
		return last == status, nil
	})
	if err != nil {
		t.Fatalf("pod %s never showed %s (last %q): %v\n%s", name, status, last, err, k.Run("describe", "pod", name).Stdout)
	}
}

// waitEvent waits until `kubectl get events` lists an event of the pod with
// reason whose message contains msg.
func waitEvent(t *testing.T, k *harness.Client, pod, reason, msg string) {
	t.Helper()
	var last harness.Result
	err := harness.WaitFor(3*time.Minute, func() (bool, error) {
		last = k.Run("get", "events", "--field-selector", "involvedObject.kind=Pod,involvedObject.name="+pod+",reason="+reason,
			"-o", `jsonpath={range .items[*]}{.source.component}|{.message}{"\n"}{end}`)
		for _, line := range strings.Split(last.Stdout, "\n") {
			if from, m, _ := strings.Cut(line, "|"); from == "kubelet" && strings.Contains(m, msg) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event of pod %s with %q: %v; last: %s\nall events:\n%s", reason, pod, msg, err, last, k.Run("get", "events").Stdout)
	}
}
