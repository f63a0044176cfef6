package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"

	"petset/internal/controlplane"
	"petset/internal/node"
	"petset/internal/sharedvolume"
)

// TestSharedStorageClass: a server and nodes started with one
// --shared-volume-dir get the "shared" StorageClass and the root's label; a
// set's claim of that class is provisioned under the root with node
// affinity to the root, not to a node, so its pod, replaced while its node
// is cordoned, runs on the other node with the same claim.
func TestSharedStorageClass(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	c := startClusterWith(t, controlplane.Config{SharedVolumeDir: shared})
	startSimulatedNodesWith(t, c, 2, func(_ int, cfg *node.Config) { cfg.SharedVolumeDir = shared })
	ctx := context.Background()
	id, err := sharedvolume.Ensure(shared)
	if err != nil {
		t.Fatal(err)
	}
	class, err := c.client.StorageV1().StorageClasses().Get(ctx, sharedvolume.ClassName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("storage class %s: %v", sharedvolume.ClassName, err)
	}
	if class.Provisioner != sharedvolume.ProvisionerName || len(class.AllowedTopologies) != 1 ||
		class.AllowedTopologies[0].MatchLabelExpressions[0].Values[0] != id || class.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
		t.Fatalf("storage class %s: %+v", class.Name, class)
	}
	for _, n := range []string{"sim-0", "sim-1"} {
		nd, err := c.client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if nd.Labels[sharedvolume.RootLabel] != id || nd.Annotations[sharedvolume.DirAnnotation] != shared {
			t.Fatalf("node %s: labels %v annotations %v", n, nd.Labels, nd.Annotations)
		}
	}

	set := webSet("shr", 1, appsv1.OrderedReadyPodManagement)
	set.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr.To(sharedvolume.ClassName)
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "shr", "shr-0")
	first := podsOf(t, c, "shr")[0]
	claim, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-shr-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv, err := c.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.Local == nil || pv.Spec.Local.Path != filepath.Join(shared, pv.Name) || sharedvolume.RootOf(pv) != id {
		t.Fatalf("volume %s: source %+v affinity %+v", pv.Name, pv.Spec.PersistentVolumeSource, pv.Spec.NodeAffinity)
	}
	if err := storagehelpers.CheckNodeAffinity(pv, map[string]string{corev1.LabelHostname: "elsewhere"}); err == nil {
		t.Fatalf("volume %s fits a node without the root's label", pv.Name)
	}
	if st, err := os.Stat(pv.Spec.Local.Path); err != nil || !st.IsDir() {
		t.Fatalf("volume directory: %v", err)
	}

	// Cordon the pod's node and delete the pod: the replacement lands on
	// the other node, with the same claim and volume.
	cordon(t, c, first.Spec.NodeName)
	if err := c.client.CoreV1().Pods("default").Delete(ctx, "shr-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "shr-0 replaced on the other node", func() (bool, error) {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, "shr-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.UID != first.UID && p.Spec.NodeName != "" && p.Spec.NodeName != first.Spec.NodeName && isReady(*p),
			fmt.Errorf("shr-0 %s on %q, phase %s", p.UID, p.Spec.NodeName, p.Status.Phase)
	})
	after, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-shr-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != claim.UID || after.Spec.VolumeName != pv.Name {
		t.Fatalf("claim after the move: uid %s volume %s, want %s %s", after.UID, after.Spec.VolumeName, claim.UID, pv.Name)
	}

	// Reclaim: once the set and the claim are gone, the volume (policy
	// Delete) is deleted and the server removes its directory before the
	// volume's finalizer goes.
	if err := c.client.AppsV1().StatefulSets("default").Delete(ctx, "shr", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "shr's pods gone", func() (bool, error) { return len(podsOf(t, c, "shr")) == 0, nil })
	if err := c.client.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "www-shr-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "volume "+pv.Name+" and its directory gone", func() (bool, error) {
		_, err := c.client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("volume: %v", err)
		}
		_, err = os.Stat(pv.Spec.Local.Path)
		return os.IsNotExist(err), fmt.Errorf("directory: %v", err)
	})
}

// cordon marks a node unschedulable.
func cordon(t *testing.T, c *cluster, name string) {
	t.Helper()
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := c.client.CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
