package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRecycleHostPathVolume is issue 8 item 3: a bound hostPath PV with
// reclaim policy Recycle, its claim deleted → a recycler pod scrubs the
// directory on the node (as upstream's hostPath recycler), the volume is
// Available again without claimRef, and the events say so. kubectl prints
// upstream's deprecation warning when the PV is created.
func TestRecycleHostPathVolume(t *testing.T) {
	t.Parallel()
	u := StartUp(t)
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
	err = WaitFor(time.Minute, func() (bool, error) {
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
