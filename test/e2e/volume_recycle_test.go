package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestRecycleHostPathVolume is issue 8 item 3: a bound hostPath PV with
// reclaim policy Recycle, its claim deleted → a recycler pod scrubs the
// directory on the node (as upstream's hostPath recycler), the volume is
// Available again without claimRef, and the events say so. kubectl prints
// upstream's deprecation warning when the PV is created.
func TestRecycleHostPathVolume(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	dir := filepath.Join(u.Dir, "recycled")
	if err := os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"data.txt", ".hidden", "sub/deeper/more.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old data\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := u.WriteFile(t, "recycle.yaml", fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: recycle-pv
spec:
  capacity:
    storage: 1Mi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Recycle
  storageClassName: ""
  hostPath:
    path: %s
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: recycle-claim
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
`, dir))
	r := k.MustRun(t, "create", "-f", manifest)
	if !strings.Contains(r.Stderr, "Warning: spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.") {
		t.Errorf("no deprecation warning for Recycle:\n%s", r.Stderr)
	}
	k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", "recycle-claim")
	k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pv", "recycle-pv")

	k.MustRun(t, "delete", "pvc", "recycle-claim")
	k.WaitJSONPath(t, 3*time.Minute, "{.status.phase}", "Available", "pv", "recycle-pv")
	if ref := k.JSONPath(t, "{.spec.claimRef}", "pv", "recycle-pv"); ref != "" {
		t.Errorf("recycled volume keeps claimRef %s", ref)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("the recycled directory itself must stay: %v", err)
	}
	if len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files survive the recycle: %v", names)
	}
	err = harness.WaitFor(time.Minute, func() (bool, error) {
		ev := k.Run("get", "events", "--field-selector", "involvedObject.name=recycle-pv", "-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}")
		return strings.Contains(ev.Stdout, "VolumeRecycled: Volume recycled") && strings.Contains(ev.Stdout, "RecyclerPod: Recycler pod: "), nil
	})
	if err != nil {
		t.Errorf("events of recycle-pv: %v\n%s", err, k.MustRun(t, "get", "events", "--field-selector", "involvedObject.name=recycle-pv").Stdout)
	}
	k.WaitGone(t, time.Minute, "pod", "recycler-for-recycle-pv")

	// Available again: a new claim binds it.
	claim := u.WriteFile(t, "claim2.yaml", `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: recycle-claim-2
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
`)
	k.MustRun(t, "create", "-f", claim)
	k.WaitJSONPath(t, waitBound, "{.spec.volumeName}", "recycle-pv", "pvc", "recycle-claim-2")
}

// TestWalkthroughKubiaStaticVolumes is seed 000 with its static volumes
// (examples/kubia/persistent-volumes-hostpath.yaml, paths moved into the
// test's directory): the set's class-less claims get the default class at
// creation, each binds to one of the static PVs (none is provisioned, none
// left half-bound) also after scaling to 3, and a deleted claim's PV is
// recycled: its files are gone and it is Available again.
func TestWalkthroughKubiaStaticVolumes(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	raw, err := os.ReadFile(example(t, "kubia/persistent-volumes-hostpath.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const seedDir = "/var/lib/petset/examples/kubia"
	if !strings.Contains(string(raw), seedDir) {
		t.Fatalf("persistent-volumes-hostpath.yaml no longer uses %s: adapt this test", seedDir)
	}
	volDir := filepath.Join(u.Dir, "kubia-pvs")
	pvs := u.WriteFile(t, "pvs.yaml", strings.ReplaceAll(string(raw), seedDir, volDir))
	k.MustRun(t, "create", "-f", pvs)
	k.MustRun(t, "create", "-f", example(t, "kubia/kubia-service-headless.yaml"))
	k.MustRun(t, "create", "-f", example(t, "kubia/kubia-statefulset.yaml"))
	u.WaitReady(t, "kubia", 2)
	k.MustRun(t, "scale", "statefulset", "kubia", "--replicas=3")
	u.WaitReady(t, "kubia", 3)

	used := map[string]string{} // pv → claim
	for i := range 3 {
		c := fmt.Sprintf("data-kubia-%d", i)
		k.WaitJSONPath(t, waitBound, "{.status.phase}", "Bound", "pvc", c)
		if cls := k.JSONPath(t, "{.spec.storageClassName}", "pvc", c); cls != "standard" {
			t.Errorf("%s has storageClassName %q, want the default standard", c, cls)
		}
		pv := k.JSONPath(t, "{.spec.volumeName}", "pvc", c)
		if !map[string]bool{"pv-a": true, "pv-b": true, "pv-c": true}[pv] || used[pv] != "" {
			t.Fatalf("%s bound to %q (used: %v)", c, pv, used)
		}
		used[pv] = c
	}
	out := k.MustRun(t, "get", "pv", "-o", `jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.claimRef.name}{"\n"}{end}`).Stdout
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[1] != "Bound" || used[f[0]] != f[2] {
			t.Errorf("volume %q: want one of pv-a/b/c Bound to its claim; all volumes:\n%s", line, out)
		}
	}

	// kubia-2's data, then scale down and delete its claim: Recycle.
	k.MustRun(t, "exec", "kubia-2", "--", "sh", "-c", "echo kept > /var/data/extra.txt && mkdir -p /var/data/dir && echo x > /var/data/dir/f")
	var pv2 string
	for pv, c := range used {
		if c == "data-kubia-2" {
			pv2 = pv
		}
	}
	if _, err := os.Stat(filepath.Join(volDir, pv2, "extra.txt")); err != nil {
		t.Fatalf("kubia-2's file is not in %s's directory: %v", pv2, err)
	}
	k.MustRun(t, "scale", "statefulset", "kubia", "--replicas=2")
	k.WaitGone(t, 3*time.Minute, "pod", "kubia-2")
	k.MustRun(t, "delete", "pvc", "data-kubia-2")
	k.WaitJSONPath(t, 3*time.Minute, "{.status.phase}", "Available", "pv", pv2)
	ents, err := os.ReadDir(filepath.Join(volDir, pv2))
	if err != nil || len(ents) != 0 {
		t.Errorf("recycled %s: entries %v, err %v", pv2, ents, err)
	}
}
