package volume

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"petset/internal/sharedvolume"
)

func sharedNode(name, root string) *v1.Node {
	n := nodeOf(name, "/var/lib/petset/"+name+"/volumes")
	if root != "" {
		n.Labels[sharedvolume.RootLabel] = root
	}
	return n
}

func selected(c *v1.PersistentVolumeClaim, node string) *v1.PersistentVolumeClaim {
	c.Annotations = map[string]string{storagehelpers.AnnSelectedNode: node}
	return c
}

// The shared class provisions a directory under the server's shared root,
// with node affinity to every node that carries the root's ID, not to the
// node the scheduler selected.
func TestSharedProvisioning(t *testing.T) {
	dir := t.TempDir()
	id, err := sharedvolume.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := startWith(t, func(c *Controller) { c.ServeSharedRoot(dir, id) },
		sharedvolume.StorageClass(id), sharedNode("a", id), sharedNode("b", id), sharedNode("c", ""),
		selected(claimOf("data", sharedvolume.ClassName, "1Gi"), "a"),
		selected(claimOf("elsewhere", sharedvolume.ClassName, "1Gi"), "c"))

	c := h.waitClaimPhase("data", v1.ClaimBound)
	v := h.waitVolumePhase(c.Spec.VolumeName, v1.VolumeBound)
	want := filepath.Join(dir, "pvc-uid-data")
	if v.Spec.Local == nil || v.Spec.Local.Path != want {
		t.Fatalf("provisioned source %+v, want local path %s", v.Spec.PersistentVolumeSource, want)
	}
	if st, err := os.Stat(want); err != nil || !st.IsDir() || st.Mode().Perm() != 0o777 {
		t.Fatalf("volume directory: %v, %v", st, err)
	}
	for node, fits := range map[string]bool{"a": true, "b": true, "c": false} {
		labels := map[string]string{"kubernetes.io/hostname": node}
		if fits {
			labels[sharedvolume.RootLabel] = id
		}
		if err := storagehelpers.CheckNodeAffinity(v, labels); (err == nil) != fits {
			t.Errorf("node %s: affinity check %v, want fit=%v", node, err, fits)
		}
	}
	if v.Annotations[storagehelpers.AnnDynamicallyProvisioned] != sharedvolume.ProvisionerName ||
		!slices.Equal(v.Finalizers, []string{sharedvolume.Finalizer}) ||
		v.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete {
		t.Fatalf("annotations %v finalizers %v policy %s", v.Annotations, v.Finalizers, v.Spec.PersistentVolumeReclaimPolicy)
	}
	h.waitEvent("data", "ProvisioningSucceeded", "Successfully provisioned volume pvc-uid-data using petset.io/shared")
	// A node that does not reach the root gets none, and the event says why.
	h.waitEvent("elsewhere", "ProvisioningFailed", `node "c" does not reach this server's shared volume dir`)
	if c := h.claim("elsewhere"); c.Spec.VolumeName != "" {
		t.Fatalf("claim for node c bound to %s", c.Spec.VolumeName)
	}
}

// A server without a shared root says so rather than waiting for an
// external provisioner.
func TestSharedProvisioningNeedsTheServersRoot(t *testing.T) {
	h := start(t, sharedvolume.StorageClass("0123456789abcdef"), sharedNode("a", "0123456789abcdef"),
		selected(claimOf("data", sharedvolume.ClassName, "1Gi"), "a"))
	h.waitEvent("data", "ProvisioningFailed", "this petset server has no --shared-volume-dir")
}

// A deleted shared volume that is no longer bound loses its directory and
// then its finalizer; one of another root is left alone.
func TestSharedVolumeDataDeleted(t *testing.T) {
	dir := t.TempDir()
	id, err := sharedvolume.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	deleted := func(name, root string) *v1.PersistentVolume {
		ts := metav1.Now()
		v := volumeOf(name, "1Gi", v1.PersistentVolumeReclaimDelete, v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: filepath.Join(dir, name)}})
		v.DeletionTimestamp = &ts
		v.Finalizers = []string{sharedvolume.Finalizer}
		v.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: sharedvolume.RootLabel, Operator: v1.NodeSelectorOpIn, Values: []string{root}}},
		}}}}
		if err := os.MkdirAll(filepath.Join(dir, name), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "data"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return v
	}
	h := startWith(t, func(c *Controller) { c.ServeSharedRoot(dir, id) },
		deleted("pvc-mine", id), deleted("pvc-other", "fedcba9876543210"))
	h.waitFor("finalizer of pvc-mine removed", func() (bool, error) {
		return len(h.pv("pvc-mine").Finalizers) == 0, nil
	})
	if _, err := os.Stat(filepath.Join(dir, "pvc-mine")); !os.IsNotExist(err) {
		t.Errorf("data of pvc-mine: %v, want it gone", err)
	}
	// pvc-other was synced too (same queue, earlier or later): its data and
	// finalizer stay.
	if _, err := os.Stat(filepath.Join(dir, "pvc-other", "data")); err != nil {
		t.Errorf("data of another root's volume: %v", err)
	}
	if f := h.pv("pvc-other").Finalizers; !slices.Equal(f, []string{sharedvolume.Finalizer}) {
		t.Errorf("another root's volume has finalizers %v", f)
	}
}
