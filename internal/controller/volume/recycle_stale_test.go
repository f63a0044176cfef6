package volume

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
)

// TestRecycleIgnoresStaleRelease: a sync that still sees a volume Released
// after its recycle finished (its recycler pod deleted, the volume Available
// and bound to a new claim) must not scrub it again — the live volume is what
// counts, as in upstream's recycleVolumeOperation.
func TestRecycleIgnoresStaleRelease(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "recycle", ResourceVersion: "7"},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRecycle,
			PersistentVolumeSource:        v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/y"}},
			ClaimRef:                      &v1.ObjectReference{Namespace: "default", Name: "new", UID: "new-claim"},
		},
		Status: v1.PersistentVolumeStatus{Phase: v1.VolumeBound},
	}
	client := fake.NewClientset(live)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(ctx, client, factory, record.NewFakeRecorder(10), 1)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	stale := live.DeepCopy()
	stale.ResourceVersion = "5"
	stale.Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "old", UID: "old-claim"}
	stale.Status.Phase = v1.VolumeReleased
	if err := c.recycle(ctx, stale); err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods(RecyclerPodNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Fatalf("a stale Released copy of a bound volume started recycler pod %s", pods.Items[0].Name)
	}
}
