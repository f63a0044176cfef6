package volume

import (
	"context"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// written holds the objects of one kind that the controller wrote itself,
// until its informer shows them (or something newer). A claim is written
// twice in a row when it is bound (its volume name, then its status), and
// the informer delivers the first write while the second is under way: a
// sync from the cache alone would see a claim that is not Bound yet and
// write its status again from a stale copy, a conflict every claim (and a
// fieldmanager run on the server for nothing). Likewise a volume the
// controller has just provisioned may be missing from the cache when its
// claim's next sync looks it up. Upstream's PV controller keeps its own
// stores of claims and volumes for the same reason, updated with what it
// writes and ignoring informer events older than that (storeObjectUpdate).
//
// An entry is trusted for keepFor at most: an informer that has not shown
// a write by then (the object was deleted before it saw it, say) is
// believed again.
type written[T metav1.Object] struct {
	mu   sync.Mutex
	objs map[string]kept[T]
}

type kept[T metav1.Object] struct {
	obj T
	at  time.Time
}

// keepFor is how long a written object is preferred to the informer's.
const keepFor = 30 * time.Second

// sweepAbove is the number of entries above which remember drops expired
// ones.
const sweepAbove = 1024

func newWritten[T metav1.Object]() *written[T] { return &written[T]{objs: map[string]kept[T]{}} }

// remember keeps obj, the API server's answer to a write, unless an even
// newer version is kept already.
func (w *written[T]) remember(obj T) {
	key := cache.MetaObjectToName(obj).String()
	t := now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.objs) > sweepAbove {
		for k, e := range w.objs {
			if t.Sub(e.at) > keepFor {
				delete(w.objs, k)
			}
		}
	}
	if old, ok := w.objs[key]; ok && old.obj.GetUID() == obj.GetUID() && olderThan(obj, old.obj) {
		return
	}
	w.objs[key] = kept[T]{obj: obj, at: t}
}

// get returns the kept version of the object named key, if one is kept
// and still trusted.
func (w *written[T]) get(key string) (T, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.objs[key]
	if ok && now().Sub(e.at) > keepFor {
		delete(w.objs, key)
		ok = false
	}
	return e.obj, ok
}

// latest returns the newer of cached (from the informer) and the version
// this controller last wrote of the same object. The caller must not
// modify what it gets, as with objects from a lister.
func (w *written[T]) latest(cached T) T {
	if kept, ok := w.get(cache.MetaObjectToName(cached).String()); ok && kept.GetUID() == cached.GetUID() && olderThan(cached, kept) {
		return kept
	}
	return cached
}

// seen drops the kept version of obj once the informer has delivered it or
// a newer one (or the object is gone: deleted is true), so that the store
// holds only writes the cache has not caught up with.
func (w *written[T]) seen(obj T, deleted bool) {
	key := cache.MetaObjectToName(obj).String()
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.objs[key]; ok && (deleted || e.obj.GetUID() != obj.GetUID() || !olderThan(obj, e.obj)) {
		delete(w.objs, key)
	}
}

// olderThan reports whether a's resourceVersion is lower than b's. A
// resourceVersion is opaque to clients; here, as in upstream's PV
// controller, it is the etcd revision the controller's own API server
// stores. An unparsable one is never older, so the cache wins.
func olderThan(a, b metav1.Object) bool {
	ra, errA := strconv.ParseUint(a.GetResourceVersion(), 10, 64)
	rb, errB := strconv.ParseUint(b.GetResourceVersion(), 10, 64)
	return errA == nil && errB == nil && ra < rb
}

// The controller's writes of claims and volumes: each remembers the
// version the API server returns.

func (c *Controller) updateClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	upd, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
	if err == nil {
		c.writtenClaims.remember(upd)
	}
	return upd, err
}

func (c *Controller) updateClaimStatus(ctx context.Context, claim *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	upd, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	if err == nil {
		c.writtenClaims.remember(upd)
	}
	return upd, err
}

func (c *Controller) createVolume(ctx context.Context, vol *v1.PersistentVolume) (*v1.PersistentVolume, error) {
	made, err := c.client.CoreV1().PersistentVolumes().Create(ctx, vol, metav1.CreateOptions{})
	if err == nil {
		c.writtenVolumes.remember(made)
	}
	return made, err
}

func (c *Controller) updateVolume(ctx context.Context, vol *v1.PersistentVolume) (*v1.PersistentVolume, error) {
	upd, err := c.client.CoreV1().PersistentVolumes().Update(ctx, vol, metav1.UpdateOptions{})
	if err == nil {
		c.writtenVolumes.remember(upd)
	}
	return upd, err
}

func (c *Controller) updateVolumeStatus(ctx context.Context, vol *v1.PersistentVolume) (*v1.PersistentVolume, error) {
	upd, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, vol, metav1.UpdateOptions{})
	if err == nil {
		c.writtenVolumes.remember(upd)
	}
	return upd, err
}

// volume is the newer of the informer's and the controller's own last
// written version of the named volume.
// A volume the controller has just created is found before the informer
// shows it.
func (c *Controller) volume(name string) (*v1.PersistentVolume, error) {
	vol, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		if made, ok := c.writtenVolumes.get(name); ok {
			return made, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return c.writtenVolumes.latest(vol), nil
}
