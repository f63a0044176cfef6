package volume

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
)

func claimAt(rv string, uid types.UID, phase v1.PersistentVolumeClaimPhase) *v1.PersistentVolumeClaim {
	c := claimOf("data", "-", "1Gi")
	c.ResourceVersion = rv
	c.UID = uid
	c.Status.Phase = phase
	return c
}

func TestWrittenPrefersTheNewer(t *testing.T) {
	clock := time.Unix(1000, 0)
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return clock }

	w := newWritten[*v1.PersistentVolumeClaim]()
	bound := claimAt("12", "u1", v1.ClaimBound)
	w.remember(bound)
	w.remember(claimAt("11", "u1", v1.ClaimPending)) // an older answer never replaces a newer one

	if got := w.latest(claimAt("10", "u1", v1.ClaimPending)); got != bound {
		t.Fatalf("stale cache: got %s/%s, want the written Bound claim", got.ResourceVersion, got.Status.Phase)
	}
	newer := claimAt("13", "u1", v1.ClaimLost)
	if got := w.latest(newer); got != newer {
		t.Fatalf("newer cache: got resourceVersion %s, want 13", got.ResourceVersion)
	}
	if got := w.latest(claimAt("10", "u2", v1.ClaimPending)); got.UID != "u2" {
		t.Fatal("a recreated claim (other UID) was answered with the old claim's write")
	}
	if got := w.latest(claimAt("x", "u1", v1.ClaimPending)); got.ResourceVersion != "x" {
		t.Fatal("an unparsable resourceVersion must leave the cache's copy")
	}

	// The informer delivering an older version keeps the entry; the
	// written version or a newer one drops it.
	w.seen(claimAt("11", "u1", v1.ClaimPending), false)
	if _, ok := w.get("default/data"); !ok {
		t.Fatal("entry dropped on an older informer version")
	}
	w.seen(claimAt("12", "u1", v1.ClaimBound), false)
	if _, ok := w.get("default/data"); ok {
		t.Fatal("entry kept after the informer showed it")
	}
	w.remember(bound)
	w.seen(claimAt("5", "u1", v1.ClaimPending), true)
	if _, ok := w.get("default/data"); ok {
		t.Fatal("entry kept after the claim was deleted")
	}

	// An entry the informer never shows is trusted for keepFor only.
	w.remember(bound)
	clock = clock.Add(keepFor + time.Second)
	if got := w.latest(claimAt("10", "u1", v1.ClaimPending)); got == bound {
		t.Fatal("an expired entry still answers")
	}
	if len(w.objs) != 0 {
		t.Fatalf("expired entry not dropped: %d left", len(w.objs))
	}
}

// staticController is a controller whose informers are filled by the test
// and never started: its caches show exactly what the test put there,
// while its writes go to client.
func staticController(t *testing.T, client *fake.Clientset) (*Controller, informers.SharedInformerFactory) {
	t.Helper()
	serveLikeAPIServer(client)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(context.Background(), client, factory, record.NewFakeRecorder(100), 1)
	return c, factory
}

func addToCache(t *testing.T, factory informers.SharedInformerFactory, objs ...runtime.Object) {
	t.Helper()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.PersistentVolumeClaim:
			err = factory.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Add(o)
		case *v1.PersistentVolume:
			err = factory.Core().V1().PersistentVolumes().Informer().GetIndexer().Add(o)
		case *v1.Node:
			err = factory.Core().V1().Nodes().Informer().GetIndexer().Add(o)
		case *storagev1.StorageClass:
			err = factory.Storage().V1().StorageClasses().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A claim's sync that runs before the informer shows the controller's own
// binding writes (the claim as it was, the provisioned volume not at all)
// writes nothing: it reads what the controller wrote. Without that, the
// sync binds again from the stale copy (a conflict) or, seeing the claim
// bound but not its volume, would call the claim lost.
func TestSyncAfterOwnWritesReadsThem(t *testing.T) {
	class := DefaultStorageClass()
	node := nodeOf("node1", "/var/lib/petset/volumes")
	claim := selected(claimOf("data", DefaultClassName, "1Gi"), "node1")
	claim.ResourceVersion = "1"
	claim.Status.Phase = v1.ClaimPending
	client := fake.NewClientset(class, node, claim)
	c, factory := staticController(t, client)
	addToCache(t, factory, class, node, claim)
	ctx := context.Background()

	if err := c.syncClaim(ctx, "default/data"); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	got, err := client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != v1.ClaimBound || got.Spec.VolumeName != "pvc-uid-data" {
		t.Fatalf("after the first sync: phase %s volume %q", got.Status.Phase, got.Spec.VolumeName)
	}

	// The cache still holds the claim as it was and no volume; then the
	// claim as the bind's first write left it (volume named, not Bound).
	half := got.DeepCopy()
	half.Status = claim.Status
	rv := half.ResourceVersion
	half.ResourceVersion = "2"
	for _, cached := range []*v1.PersistentVolumeClaim{claim, half} {
		addToCache(t, factory, cached)
		client.ClearActions()
		if err := c.syncClaim(ctx, "default/data"); err != nil {
			t.Fatalf("sync with the claim cached at resourceVersion %s: %v", cached.ResourceVersion, err)
		}
		for _, a := range client.Actions() {
			if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
				t.Errorf("claim cached at resourceVersion %s (written: %s): %s %s/%s written again", cached.ResourceVersion, rv, a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
			}
		}
	}
	final, err := client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status.Phase != v1.ClaimBound || final.ResourceVersion != rv {
		t.Fatalf("claim changed by the later syncs: phase %s resourceVersion %s (was %s)", final.Status.Phase, final.ResourceVersion, rv)
	}
}
