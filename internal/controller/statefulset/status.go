package statefulset

import (
	"context"
	"fmt"
	"sync"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/util/retry"
)

// statusUpdater writes a set's status through the status subresource.
type statusUpdater struct {
	client    kubernetes.Interface
	setLister appslisters.StatefulSetLister

	// written maps a set's UID to its last status write: the
	// resourceVersion it was written over and the one it produced. A sync
	// that comes before the cache shows that write starts from the version
	// it produced instead of conflicting on the stale copy.
	mu      sync.Mutex
	written map[types.UID]statusWrite
}

type statusWrite struct{ over, as string }

// update writes status, reapplying it to a fresh copy from the cache on conflict.
func (su *statusUpdater) update(ctx context.Context, set *apps.StatefulSet, status *apps.StatefulSetStatus) error {
	set = set.DeepCopy()
	set.Status = *status
	su.mu.Lock()
	if w, ok := su.written[set.UID]; ok && w.over == set.ResourceVersion {
		// Nothing changed the set but our own write, which the cache has
		// not shown yet.
		set.ResourceVersion = w.as
	}
	su.mu.Unlock()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		over := set.ResourceVersion
		out, err := su.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, set, metav1.UpdateOptions{})
		if err == nil {
			su.mu.Lock()
			if su.written == nil {
				su.written = map[types.UID]statusWrite{}
			}
			su.written[set.UID] = statusWrite{over: over, as: out.ResourceVersion}
			su.mu.Unlock()
			return nil
		}
		if fresh, getErr := su.setLister.StatefulSets(set.Namespace).Get(set.Name); getErr == nil {
			set = fresh.DeepCopy()
			set.Status = *status
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}

// forget drops what update remembers of a deleted set.
func (su *statusUpdater) forget(uid types.UID) {
	su.mu.Lock()
	defer su.mu.Unlock()
	delete(su.written, uid)
}

// countPods computes the pod counts of status from pods; placeholders (no
// phase) are not counted.
func countPods(status *apps.StatefulSetStatus, pods []*v1.Pod, minReadySeconds int32, now time.Time) {
	status.Replicas, status.ReadyReplicas, status.AvailableReplicas = 0, 0, 0
	status.CurrentReplicas, status.UpdatedReplicas = 0, 0
	for _, pod := range pods {
		if pod == nil || !isCreated(pod) {
			continue
		}
		status.Replicas++
		if isRunningAndReady(pod) {
			status.ReadyReplicas++
			if isRunningAndAvailable(pod, minReadySeconds, now) {
				status.AvailableReplicas++
			}
		}
		if isTerminating(pod) {
			continue
		}
		rev := podRevision(pod)
		if rev == status.CurrentRevision {
			status.CurrentReplicas++
		}
		if rev == status.UpdateRevision {
			status.UpdatedReplicas++
		}
	}
}

// countCreated adds a pod this sync created to status, as countPods would
// count it once the cache shows it.
func countCreated(status *apps.StatefulSetStatus, pod *v1.Pod) {
	status.Replicas++
	rev := podRevision(pod)
	if rev == status.CurrentRevision {
		status.CurrentReplicas++
	}
	if rev == status.UpdateRevision {
		status.UpdatedReplicas++
	}
}

// completeRollout advances currentRevision once every replica is updated and
// ready (1.37: for every update strategy, OnDelete included).
func completeRollout(set *apps.StatefulSet, status *apps.StatefulSetStatus) {
	if status.UpdatedReplicas == status.ReadyReplicas &&
		status.ReadyReplicas == status.Replicas &&
		status.Replicas == int32(specReplicas(set)) {
		status.CurrentReplicas = status.UpdatedReplicas
		status.CurrentRevision = status.UpdateRevision
	}
}

// statusChanged reports whether status differs from the stored one in a way
// worth a write (collisionCount or conditions alone are not).
func statusChanged(set *apps.StatefulSet, status *apps.StatefulSetStatus) bool {
	old := &set.Status
	return status.ObservedGeneration > old.ObservedGeneration ||
		status.Replicas != old.Replicas ||
		status.ReadyReplicas != old.ReadyReplicas ||
		status.AvailableReplicas != old.AvailableReplicas ||
		status.CurrentReplicas != old.CurrentReplicas ||
		status.UpdatedReplicas != old.UpdatedReplicas ||
		status.CurrentRevision != old.CurrentRevision ||
		status.UpdateRevision != old.UpdateRevision
}
