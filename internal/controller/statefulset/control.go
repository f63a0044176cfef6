package statefulset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"petset/internal/fencing"
	"petset/internal/logging"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
)

// maxBurst caps the number of concurrent pod writes in Parallel mode.
const maxBurst = 500

// defaultHistoryLimit applies when revisionHistoryLimit is unset.
const defaultHistoryLimit = 10

// control is the reconcile algorithm for one StatefulSet. It reads the
// informer caches through podControl/history and writes through them.
type control struct {
	pods     *podControl
	status   *statusUpdater
	history  *history
	compare  *templateComparer
	recorder record.EventRecorder
	now      func() time.Time
	// autoFailover opts the pods of every set into automatic failover
	// (`petset server --auto-failover`).
	autoFailover bool
}

// sync reconciles set with its claimed pods and returns the status it computed.
func (c *control) sync(ctx context.Context, set *apps.StatefulSet, pods []*v1.Pod, selector labels.Selector) (*apps.StatefulSetStatus, error) {
	set = set.DeepCopy()
	revisions, err := c.history.list(set, selector)
	if err != nil {
		return nil, err
	}
	sortRevisions(revisions)
	current, update, status, err := c.performUpdate(ctx, set, pods, revisions)
	truncErr := c.truncateHistory(ctx, set, pods, revisions, current, update)
	return status, errors.Join(err, truncErr)
}

func (c *control) performUpdate(ctx context.Context, set *apps.StatefulSet, pods []*v1.Pod, revisions []*apps.ControllerRevision) (current, update *apps.ControllerRevision, status *apps.StatefulSetStatus, err error) {
	current, update, collisionCount, err := c.chooseRevisions(ctx, set, revisions)
	if err != nil {
		return current, update, nil, err
	}
	status, err = c.reconcile(ctx, set, current, update, collisionCount, pods)
	if status == nil {
		return current, update, nil, err
	}
	completeRollout(set, status)
	var statusErr error
	if statusChanged(set, status) {
		statusErr = c.status.update(ctx, set, status)
	}
	if err != nil {
		if statusErr != nil {
			logging.FromContext(ctx).Warn("status write failed after sync error", logging.ErrKey, statusErr)
		}
		return current, update, status, err
	}
	return current, update, status, statusErr
}

// chooseRevisions finds or creates the update revision (§4.3) and the current one.
func (c *control) chooseRevisions(ctx context.Context, set *apps.StatefulSet, revisions []*apps.ControllerRevision) (current, update *apps.ControllerRevision, collisionCount int32, err error) {
	if set.Status.CollisionCount != nil {
		collisionCount = *set.Status.CollisionCount
	}
	candidate, err := newRevision(set, nextRevisionNumber(revisions), &collisionCount)
	if err != nil {
		return nil, nil, collisionCount, err
	}
	var equal []*apps.ControllerRevision
	for _, rev := range revisions {
		if c.compare.equal(rev, candidate) {
			equal = append(equal, rev)
		}
	}
	switch {
	case len(equal) > 0 && equal[len(equal)-1] == revisions[len(revisions)-1]:
		update = revisions[len(revisions)-1]
	case len(equal) > 0:
		update, err = c.history.renumber(ctx, equal[len(equal)-1], candidate.Revision)
	default:
		update, err = c.history.create(ctx, set, candidate, &collisionCount)
	}
	if err != nil {
		return nil, nil, collisionCount, err
	}
	for _, rev := range revisions {
		if rev.Name == set.Status.CurrentRevision {
			current = rev
			break
		}
	}
	if current == nil {
		current = update
	}
	return current, update, collisionCount, nil
}

// reconcile runs §3.2–3.8: replicas, condemned pods, then the update strategy.
// The returned status is nil only when nothing could be computed.
func (c *control) reconcile(ctx context.Context, set *apps.StatefulSet, current, update *apps.ControllerRevision, collisionCount int32, pods []*v1.Pod) (*apps.StatefulSetStatus, error) {
	log := logging.FromContext(ctx)
	currentSet, err := applyRevision(set, current)
	if err != nil {
		return nil, err
	}
	updateSet, err := applyRevision(set, update)
	if err != nil {
		return nil, err
	}
	now := c.now()
	minReady := set.Spec.MinReadySeconds
	status := &apps.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    current.Name,
		UpdateRevision:     update.Name,
		CollisionCount:     &collisionCount,
		Conditions:         set.Status.Conditions,
	}
	countPods(status, pods, minReady, now)
	if set.DeletionTimestamp == nil {
		if pods, err = c.syncFailover(ctx, set, pods); err != nil {
			return status, err
		}
	}

	n := specReplicas(set)
	start := startOrdinal(set)
	replicas := make([]*v1.Pod, n)
	var condemned []*v1.Pod
	for _, pod := range pods {
		ord := podOrdinal(pod)
		switch {
		case ord < 0:
			// Counted in status, never acted on.
		case inRange(set, ord):
			replicas[ord-start] = pod
		default:
			condemned = append(condemned, pod)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = newVersionedPod(currentSet, updateSet, current.Name, update.Name, start+i)
		}
	}
	sort.Slice(condemned, func(i, j int) bool { return podOrdinal(condemned[i]) > podOrdinal(condemned[j]) })

	unavailable := func(pod *v1.Pod) bool { return isUnavailable(pod, minReady, now) }
	var firstUnhealthy *v1.Pod
	for _, pod := range replicas {
		if unavailable(pod) {
			firstUnhealthy = pod
			break
		}
	}
	if firstUnhealthy == nil {
		for _, pod := range condemned { // descending: keep the lowest
			if unavailable(pod) {
				firstUnhealthy = pod
			}
		}
	}

	if set.DeletionTimestamp != nil {
		return status, nil
	}
	monotonic := set.Spec.PodManagementPolicy != apps.ParallelPodManagement

	// Pods created by this sync count in its status at once, as upstream
	// counts them: the status written after an ordered step already says
	// the next pod exists, instead of a second write once the cache shows
	// it. Parallel creations run concurrently, hence the lock.
	var statusMu sync.Mutex
	processReplica := func(i int) (bool, error) {
		pod := replicas[i]
		if isFailedOrSucceeded(pod) {
			if !isTerminating(pod) {
				if pod.Status.Phase == v1.PodFailed {
					c.recorder.Eventf(set, v1.EventTypeWarning, "RecreatingFailedPod",
						"StatefulSet %s/%s is recreating failed Pod %s", set.Namespace, set.Name, pod.Name)
				} else {
					c.recorder.Eventf(set, v1.EventTypeNormal, "RecreatingTerminatedPod",
						"StatefulSet %s/%s is recreating terminated Pod %s", set.Namespace, set.Name, pod.Name)
				}
				if err := c.pods.deletePod(ctx, set, pod); err != nil {
					return true, err
				}
				// Later phases of this sync see it as terminating and
				// do not delete it again.
				gone := pod.DeepCopy()
				ts := metav1.NewTime(now)
				gone.DeletionTimestamp = &ts
				replicas[i] = gone
			}
			return true, nil
		}
		if !isCreated(pod) {
			if retentionOf(set).whenScaledDelete {
				stale, err := c.pods.claimIsStale(set, pod)
				if err != nil {
					return true, err
				}
				if stale {
					log.Debug("claim of pod still owned by an earlier pod; waiting", "pod", pod.Name)
					return true, nil
				}
			}
			if add, _ := failoverChange(set, pod, c.autoFailover); add {
				pod.Annotations = withAnnotation(pod.Annotations, fencing.FailoverAnnotation, fencing.FailoverAuto)
			}
			if err := c.pods.createPod(ctx, set, pod); err != nil {
				return true, err
			}
			statusMu.Lock()
			countCreated(status, pod)
			statusMu.Unlock()
			if monotonic {
				return true, nil
			}
			return false, nil
		}
		if isPending(pod) {
			if err := c.pods.createMissingClaims(ctx, set, pod); err != nil {
				return true, err
			}
			if err := c.pods.fixClaimOwnership(ctx, updateSet, pod); err != nil {
				return true, err
			}
		}
		if monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, now)) {
			return true, nil
		}
		match, err := c.pods.claimsMatchPolicy(updateSet, pod)
		if err != nil {
			match = true // the claim will be created and fixed by a later sync
		}
		if identityMatches(set, pod) && storageMatches(set, pod) && match {
			return false, nil
		}
		if err := c.pods.updatePod(ctx, updateSet, pod.DeepCopy()); err != nil {
			return true, err
		}
		return false, nil
	}
	if blocked, err := runForAll(len(replicas), processReplica, monotonic); blocked || err != nil {
		return status, err
	}

	fixCondemnedClaims := func(i int) (bool, error) {
		return false, c.pods.fixClaimOwnership(ctx, updateSet, condemned[i])
	}
	if _, err := runForAll(len(condemned), fixCondemnedClaims, monotonic); err != nil {
		return status, err
	}

	processCondemned := func(i int) (bool, error) {
		pod := condemned[i]
		if isTerminating(pod) {
			return monotonic, nil
		}
		if monotonic && unavailable(pod) && pod != firstUnhealthy {
			return true, nil
		}
		if err := c.pods.deletePod(ctx, set, pod); err != nil {
			return true, err
		}
		return monotonic, nil
	}
	if blocked, err := runForAll(len(condemned), processCondemned, monotonic); blocked || err != nil {
		return status, err
	}

	if set.Spec.UpdateStrategy.Type != apps.RollingUpdateStatefulSetStrategyType {
		return status, nil // OnDelete: replacements are built at the update revision
	}
	// MaxUnavailableStatefulSet is on in 1.37: an unset maxUnavailable is 1,
	// which is the one-by-one roll of earlier releases.
	return status, c.rollWithMaxUnavailable(ctx, set, status, replicas, update.Name, monotonic, unavailable)
}

// syncFailover makes every pod of the set (terminating ones too: a pod
// stuck on a lost node is the one automatic failover is for) carry
// fencing.FailoverAnnotation=auto exactly when the set opts in, before the
// ordered walk, so a pod that blocks the walk is annotated too. It returns
// pods with the patched ones in place of their cached copies, so that the
// rest of the sync writes over the new versions.
func (c *control) syncFailover(ctx context.Context, set *apps.StatefulSet, pods []*v1.Pod) ([]*v1.Pod, error) {
	var errs []error
	out, copied := pods, false
	for i, pod := range pods {
		if podOrdinal(pod) < 0 {
			continue
		}
		add, remove := failoverChange(set, pod, c.autoFailover)
		if !add && !remove {
			continue
		}
		patched, err := c.pods.setFailover(ctx, set, pod, add)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		logging.FromContext(ctx).Info("pod's automatic failover opt-in follows its set", "pod", pod.Name, "failover", add)
		if patched != nil {
			if !copied {
				out, copied = slices.Clone(pods), true
			}
			out[i] = patched
		}
	}
	return out, errors.Join(errs...)
}

func withAnnotation(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// resolveMaxUnavailable: unset → 1; an integer as is; a percentage of
// replicas rounded down; at least 1.
func resolveMaxUnavailable(set *apps.StatefulSet) int {
	ru := set.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil {
		return 1
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxUnavailable, intstr.FromInt32(1)), specReplicas(set), false)
	if err != nil || v < 1 {
		return 1
	}
	return v
}

// rollWithMaxUnavailable is the rolling update with maxUnavailable (§4.7),
// including the 1.37 two-phase rule for Parallel sets.
func (c *control) rollWithMaxUnavailable(ctx context.Context, set *apps.StatefulSet, status *apps.StatefulSetStatus, replicas []*v1.Pod, updateName string, monotonic bool, unavailable func(*v1.Pod) bool) error {
	maxUnavailable := resolveMaxUnavailable(set)
	p := partition(set)
	down := 0
	for _, pod := range replicas {
		if unavailable(pod) {
			down++
		}
	}
	needsUpdate := func(pod *v1.Pod) bool { return podRevision(pod) != updateName && !isTerminating(pod) }
	del := func(pod *v1.Pod) error {
		logging.FromContext(ctx).Info("deleting pod for rolling update", "pod", pod.Name, "maxUnavailable", maxUnavailable, "unavailable", down)
		if err := c.pods.deletePod(ctx, set, pod); err != nil {
			return err
		}
		if podRevision(pod) == status.CurrentRevision && status.CurrentReplicas > 0 {
			status.CurrentReplicas--
		}
		return nil
	}
	if monotonic {
		budget := maxUnavailable - down
		for target := len(replicas) - 1; target >= p && budget > 0; target-- {
			if needsUpdate(replicas[target]) {
				if err := del(replicas[target]); err != nil {
					return err
				}
				budget--
			}
		}
		return nil
	}
	downNeedingUpdate := 0
	for target := len(replicas) - 1; target >= p; target-- {
		if needsUpdate(replicas[target]) && unavailable(replicas[target]) {
			downNeedingUpdate++
		}
	}
	if down >= maxUnavailable && downNeedingUpdate == 0 {
		return nil
	}
	// Phase 1: old pods that are down anyway are replaced outside the budget.
	for target := len(replicas) - 1; target >= p; target-- {
		if needsUpdate(replicas[target]) && unavailable(replicas[target]) {
			if err := del(replicas[target]); err != nil {
				return err
			}
		}
	}
	// Phase 2: available old pods, top down, within the budget.
	budget := maxUnavailable - down
	for target := len(replicas) - 1; target >= p && budget > 0; target-- {
		if needsUpdate(replicas[target]) && !unavailable(replicas[target]) {
			if err := del(replicas[target]); err != nil {
				return err
			}
			budget--
		}
	}
	return nil
}

// runForAll applies fn to indices 0..n-1. Monotonic: in order, stopping at the
// first blocked or failed index. Burst: in slow-start batches (1, 2, 4, …
// capped at maxBurst) of concurrent calls, ignoring "blocked", stopping after
// a batch with errors.
func runForAll(n int, fn func(i int) (bool, error), monotonic bool) (bool, error) {
	if monotonic {
		for i := 0; i < n; i++ {
			if blocked, err := fn(i); blocked || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	next := 0
	for batch := 1; next < n; batch = min(batch*2, maxBurst) {
		size := min(batch, n-next)
		errs := make([]error, size)
		var wg sync.WaitGroup
		for j := 0; j < size; j++ {
			wg.Add(1)
			go func(j int) {
				defer wg.Done()
				_, errs[j] = fn(next + j)
			}(j)
		}
		wg.Wait()
		next += size
		if err := errors.Join(errs...); err != nil {
			return true, err
		}
	}
	return false, nil
}

// truncateHistory deletes the oldest revisions that no live object uses,
// keeping at most revisionHistoryLimit of them (§4.4).
func (c *control) truncateHistory(ctx context.Context, set *apps.StatefulSet, pods []*v1.Pod, revisions []*apps.ControllerRevision, current, update *apps.ControllerRevision) error {
	limit := defaultHistoryLimit
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	if limit < 0 {
		return nil
	}
	live := make(map[string]bool, len(pods)+2)
	if current != nil {
		live[current.Name] = true
	}
	if update != nil {
		live[update.Name] = true
	}
	for _, pod := range pods {
		live[podRevision(pod)] = true
	}
	var old []*apps.ControllerRevision
	for _, rev := range revisions {
		if !live[rev.Name] {
			old = append(old, rev)
		}
	}
	if len(old) <= limit {
		return nil
	}
	var errs []error
	for _, rev := range old[:len(old)-limit] {
		if err := c.history.delete(ctx, rev); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("truncate history: %w", err)
	}
	return nil
}
