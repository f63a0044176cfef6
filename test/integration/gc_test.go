package integration

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// owned creates n config maps owned by the owner config map.
func owned(t *testing.T, c *cluster, owner *corev1.ConfigMap, prefix string, n int, block bool) []string {
	t.Helper()
	var names []string
	for i := 0; i < n; i++ {
		cm := configMap(fmt.Sprintf("%s-%d", prefix, i), "d")
		cm.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
			BlockOwnerDeletion: ptr.To(block),
		}}
		if _, err := c.client.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, cm.Name)
	}
	return names
}

func gone(c *cluster, name string) (bool, error) {
	_, err := c.client.CoreV1().ConfigMaps("default").Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, fmt.Errorf("%s still exists (%v)", name, err)
}

func TestCascadingDeletion(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	cms := c.client.CoreV1().ConfigMaps("default")

	t.Run("background", func(t *testing.T) {
		owner, err := cms.Create(ctx, configMap("bg-owner", "o"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		deps := owned(t, c, owner, "bg-dep", 3, false)
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := gone(c, owner.Name); !ok {
			t.Fatal("background: the owner should be gone at once")
		}
		for _, d := range deps {
			eventually(t, "background: dependent "+d+" collected", func() (bool, error) { return gone(c, d) })
		}
	})

	t.Run("orphan", func(t *testing.T) {
		owner, err := cms.Create(ctx, configMap("or-owner", "o"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		deps := owned(t, c, owner, "or-dep", 2, true)
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "orphan: owner removed once its dependents are released", func() (bool, error) { return gone(c, owner.Name) })
		for _, d := range deps {
			cm, err := cms.Get(ctx, d, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("orphan: dependent %s deleted: %v", d, err)
			}
			if len(cm.OwnerReferences) != 0 {
				t.Fatalf("orphan: dependent %s still has owner references %v", d, cm.OwnerReferences)
			}
		}
	})

	t.Run("foreground", func(t *testing.T) {
		owner, err := cms.Create(ctx, configMap("fg-owner", "o"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A dependent held by a finalizer keeps the owner until it is gone.
		deps := owned(t, c, owner, "fg-dep", 2, true)
		held, err := cms.Get(ctx, deps[0], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		held.Finalizers = []string{"example.com/hold"}
		if _, err := cms.Update(ctx, held, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "foreground: the unheld dependent collected", func() (bool, error) { return gone(c, deps[1]) })
		o, err := cms.Get(ctx, owner.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("foreground: owner gone while a blocking dependent exists: %v", err)
		}
		if o.DeletionTimestamp == nil {
			t.Fatal("foreground: owner has no deletionTimestamp")
		}
		// Release the held dependent: it goes, then the owner.
		held, err = cms.Get(ctx, deps[0], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		held.Finalizers = nil
		if _, err := cms.Update(ctx, held, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "foreground: held dependent gone", func() (bool, error) { return gone(c, deps[0]) })
		eventually(t, "foreground: owner gone after its dependents", func() (bool, error) { return gone(c, owner.Name) })
	})
}
