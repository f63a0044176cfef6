package deployment

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// rollout is one sync of one Deployment with the ReplicaSets it owns.
type rollout struct {
	c   *Controller
	d   *appsv1.Deployment
	rss []*appsv1.ReplicaSet
}

// isScalingEvent: some active ReplicaSet was sized for other replicas.
func (r *rollout) isScalingEvent() bool {
	want := replicasOf(r.d.Spec.Replicas)
	for _, rs := range r.rss {
		if replicasOf(rs.Spec.Replicas) == 0 {
			continue
		}
		if desired, ok := annotatedInt(rs, desiredReplicasAnnotation); ok && desired != want {
			return true
		}
	}
	return false
}

// newReplicaSet finds (or, with create, makes) the ReplicaSet of the
// Deployment's template, bringing its annotations and the Deployment's
// revision up to date; it returns it (nil when absent) and the old ones.
func (r *rollout) newReplicaSet(ctx context.Context, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	d := r.d
	existing, old := splitNewOld(d, r.rss)
	revision := maxRevision(old) + 1
	if existing != nil {
		rs := existing.DeepCopy()
		changed := setNewAnnotations(d, rs, revision)
		if rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rs.Spec.MinReadySeconds, changed = d.Spec.MinReadySeconds, true
		}
		if changed {
			updated, err := r.c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("update replicaset %s: %w", rs.Name, err)
			}
			rs = updated
		}
		needStatus := setDeploymentRevision(d, rs.Annotations[revisionAnnotation])
		if hasDeadline(d) && condition(d.Status, appsv1.DeploymentProgressing) == nil {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "FoundNewReplicaSet",
				fmt.Sprintf("Found new replica set %q", rs.Name), r.c.clock.Now()))
			needStatus = true
		}
		if needStatus {
			if err := r.writeDeploymentStatus(ctx); err != nil {
				return nil, nil, err
			}
		}
		return rs, old, nil
	}
	if !create {
		return nil, old, nil
	}

	hash := templateHash(&d.Spec.Template, d.Status.CollisionCount)
	template := d.Spec.Template.DeepCopy()
	template.Labels = withLabel(template.Labels, hashLabel, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = withLabel(selector.MatchLabels, hashLabel, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace,
			Labels:          template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, deploymentKind)},
		},
		Spec: appsv1.ReplicaSetSpec{Selector: selector, Template: *template, MinReadySeconds: d.Spec.MinReadySeconds},
	}
	size := newReplicaSetSize(d, r.rss, nil)
	rs.Spec.Replicas = &size
	setNewAnnotations(d, rs, revision)
	setReplicaAnnotations(rs, replicasOf(d.Spec.Replicas), replicasOf(d.Spec.Replicas)+maxSurge(d))

	created, err := r.c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		taken, gerr := r.c.sets.ReplicaSets(d.Namespace).Get(rs.Name)
		if gerr == nil && isControlledBy(taken, d) && equalIgnoreHash(&taken.Spec.Template, &d.Spec.Template) {
			return taken, old, nil // our own, not yet in the cache
		}
		// A ReplicaSet of another template has the name: hash again.
		n := int32(0)
		if d.Status.CollisionCount != nil {
			n = *d.Status.CollisionCount
		}
		n++
		d.Status.CollisionCount = &n
		if werr := r.writeDeploymentStatus(ctx); werr != nil {
			return nil, nil, werr
		}
		return nil, nil, fmt.Errorf("replicaset %s exists with another template: collision count now %d", rs.Name, n)
	}
	if err != nil {
		r.c.recorder.Eventf(d, corev1.EventTypeWarning, "FailedCreate", "Failed to create new replica set %q: %v", rs.Name, err)
		if hasDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ReplicaSetCreateError",
				fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err), r.c.clock.Now()))
			_ = r.writeDeploymentStatus(ctx)
		}
		return nil, nil, fmt.Errorf("create replicaset %s: %w", rs.Name, err)
	}
	if size > 0 {
		r.c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, size)
	}
	logging.FromContext(ctx).Info("created replicaset", "replicaset", created.Name, "replicas", size)
	setDeploymentRevision(d, created.Annotations[revisionAnnotation])
	if hasDeadline(d) {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetCreated",
			fmt.Sprintf("Created new replica set %q", created.Name), r.c.clock.Now()))
	}
	if err := r.writeDeploymentStatus(ctx); err != nil {
		return nil, nil, err
	}
	r.rss = append(r.rss, created)
	return created, old, nil
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func isControlledBy(rs *appsv1.ReplicaSet, d *appsv1.Deployment) bool {
	ref := metav1.GetControllerOf(rs)
	return ref != nil && ref.UID == d.UID
}

// setDeploymentRevision sets d's revision annotation; it reports a change.
func setDeploymentRevision(d *appsv1.Deployment, revision string) bool {
	if revision == "" || d.Annotations[revisionAnnotation] == revision {
		return false
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[revisionAnnotation] = revision
	return true
}

// newReplicaSetSize is the size the new ReplicaSet may grow to now.
func newReplicaSetSize(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	want := replicasOf(d.Spec.Replicas)
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return want
	}
	current := specReplicas(newRS)
	total := specReplicas(all...)
	limit := want + maxSurge(d)
	if total >= limit {
		return current
	}
	return current + min(limit-total, want-current)
}

// rolling is one step of a RollingUpdate rollout.
func (r *rollout) rolling(ctx context.Context) (runner.Result, error) {
	newRS, old, err := r.newReplicaSet(ctx, true)
	if err != nil {
		return runner.Done, err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	if scaled, err := r.reconcileNew(ctx, all, newRS); err != nil || scaled {
		return r.syncRolloutStatus(ctx, all, newRS, err)
	}
	if scaled, err := r.reconcileOld(ctx, all, old, newRS); err != nil || scaled {
		return r.syncRolloutStatus(ctx, all, newRS, err)
	}
	if complete(r.d, r.calculateStatus(all, newRS)) {
		if err := r.cleanup(ctx, old); err != nil {
			return runner.Done, err
		}
	}
	return r.syncRolloutStatus(ctx, all, newRS, nil)
}

func (r *rollout) reconcileNew(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	want := replicasOf(r.d.Spec.Replicas)
	cur := replicasOf(newRS.Spec.Replicas)
	switch {
	case cur == want:
		return false, nil
	case cur > want:
		return r.scale(ctx, newRS, want)
	}
	return r.scale(ctx, newRS, newReplicaSetSize(r.d, all, newRS))
}

// reconcileOld shrinks old ReplicaSets as far as availability allows:
// their unavailable pods first, then the oldest sets.
func (r *rollout) reconcileOld(ctx context.Context, all, old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	if specReplicas(old...) == 0 {
		return false, nil
	}
	minAvailable := replicasOf(r.d.Spec.Replicas) - maxUnavailable(r.d)
	newUnavailable := replicasOf(newRS.Spec.Replicas) - newRS.Status.AvailableReplicas
	budget := specReplicas(all...) - minAvailable - newUnavailable
	if budget <= 0 {
		return false, nil
	}
	sorted := append([]*appsv1.ReplicaSet(nil), old...)
	byCreation(sorted)
	scaled := false
	var cleaned int32
	for i, rs := range sorted {
		if cleaned >= budget {
			break
		}
		n := replicasOf(rs.Spec.Replicas)
		unhealthy := n - rs.Status.AvailableReplicas
		if n == 0 || unhealthy <= 0 {
			continue
		}
		down := min(budget-cleaned, unhealthy)
		ok, err := r.scale(ctx, rs, n-down)
		if err != nil {
			return scaled, err
		}
		if ok {
			sorted[i] = r.latest(rs)
		}
		scaled = scaled || ok
		cleaned += down
	}
	budget -= cleaned
	if budget <= 0 {
		return scaled, nil
	}
	// Then available old pods, as long as minAvailable stays available.
	var available int32
	for _, rs := range all {
		available += rs.Status.AvailableReplicas
	}
	if available <= minAvailable {
		return scaled, nil
	}
	toRemove := min(available-minAvailable, budget)
	var removed int32
	for _, rs := range sorted {
		if removed >= toRemove {
			break
		}
		n := replicasOf(r.latest(rs).Spec.Replicas)
		if n == 0 {
			continue
		}
		down := min(n, toRemove-removed)
		ok, err := r.scale(ctx, r.latest(rs), n-down)
		if err != nil {
			return scaled, err
		}
		scaled = scaled || ok
		removed += down
	}
	return scaled, nil
}

// latest is rs as this sync last wrote it.
func (r *rollout) latest(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	for _, cur := range r.rss {
		if cur.UID == rs.UID {
			return cur
		}
	}
	return rs
}

// recreate is one step of a Recreate rollout.
func (r *rollout) recreate(ctx context.Context) (runner.Result, error) {
	newRS, old, err := r.newReplicaSet(ctx, false)
	if err != nil {
		return runner.Done, err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	scaled := false
	for _, rs := range old {
		if replicasOf(rs.Spec.Replicas) == 0 {
			continue
		}
		ok, err := r.scale(ctx, rs, 0)
		if err != nil {
			return r.syncRolloutStatus(ctx, all, newRS, err)
		}
		scaled = scaled || ok
	}
	if scaled {
		return r.syncRolloutStatus(ctx, all, newRS, nil)
	}
	running, err := r.oldPodsRunning(old)
	if err != nil {
		return runner.Done, err
	}
	if running {
		return r.syncRolloutStatus(ctx, all, newRS, nil)
	}
	if newRS == nil {
		if newRS, old, err = r.newReplicaSet(ctx, true); err != nil {
			return runner.Done, err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	}
	if _, err := r.scale(ctx, newRS, replicasOf(r.d.Spec.Replicas)); err != nil {
		return r.syncRolloutStatus(ctx, all, r.latest(newRS), err)
	}
	newRS = r.latest(newRS)
	if complete(r.d, r.calculateStatus(all, newRS)) {
		if err := r.cleanup(ctx, old); err != nil {
			return runner.Done, err
		}
	}
	return r.syncRolloutStatus(ctx, all, newRS, nil)
}

// oldPodsRunning: an old ReplicaSet still counts pods, or one of its pods
// has not finished.
func (r *rollout) oldPodsRunning(old []*appsv1.ReplicaSet) (bool, error) {
	uids := map[string]bool{}
	for _, rs := range old {
		if rs.Status.Replicas > 0 {
			return true, nil
		}
		uids[string(rs.UID)] = true
	}
	pods, err := r.c.pods.Pods(r.d.Namespace).List(labels.Everything())
	if err != nil {
		return false, fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil || !uids[string(ref.UID)] {
			continue
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true, nil
		}
	}
	return false, nil
}

// scaleOnly resizes the ReplicaSets for the Deployment's replicas (a
// scaling event, or a paused Deployment) without rolling out.
func (r *rollout) scaleOnly(ctx context.Context) (runner.Result, error) {
	newRS, old, err := r.newReplicaSet(ctx, false)
	if err != nil {
		return runner.Done, err
	}
	if err := r.proportional(ctx, newRS, old); err != nil {
		return runner.Done, err
	}
	if r.d.Spec.Paused {
		if err := r.cleanup(ctx, old); err != nil {
			return runner.Done, err
		}
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	return runner.Done, r.writeStatus(ctx, r.calculateStatus(r.latestAll(all), r.latestOrNil(newRS)))
}

// statusOnly writes the status of a Deployment being deleted.
func (r *rollout) statusOnly(ctx context.Context) (runner.Result, error) {
	newRS, old := splitNewOld(r.d, r.rss)
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	return runner.Done, r.writeStatus(ctx, r.calculateStatus(all, newRS))
}

func (r *rollout) latestOrNil(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if rs == nil {
		return nil
	}
	return r.latest(rs)
}

func (r *rollout) latestAll(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	out := make([]*appsv1.ReplicaSet, 0, len(rss))
	for _, rs := range rss {
		out = append(out, r.latestOrNil(rs))
	}
	return out
}

// proportional is kube's scaling of a Deployment's ReplicaSets to its
// replicas: the one active (or newest) ReplicaSet takes them all; a
// saturated new one sends the old ones to 0; otherwise each active one
// grows or shrinks in proportion to its size.
func (r *rollout) proportional(ctx context.Context, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	d := r.d
	want := replicasOf(d.Spec.Replicas)
	var active []*appsv1.ReplicaSet
	for _, rs := range append([]*appsv1.ReplicaSet{newRS}, old...) {
		if rs != nil && replicasOf(rs.Spec.Replicas) > 0 {
			active = append(active, rs)
		}
	}
	if len(active) <= 1 {
		target := newRS
		if len(active) == 1 {
			target = active[0]
		} else if target == nil && len(old) > 0 {
			sorted := append([]*appsv1.ReplicaSet(nil), old...)
			byCreation(sorted)
			target = sorted[len(sorted)-1]
		}
		if target != nil {
			_, err := r.scale(ctx, target, want)
			return err
		}
		return nil
	}
	if newRS != nil && replicasOf(newRS.Spec.Replicas) == want && newRS.Status.AvailableReplicas == want {
		if desired, ok := annotatedInt(newRS, desiredReplicasAnnotation); ok && desired == want {
			for _, rs := range old {
				if _, err := r.scale(ctx, rs, 0); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return nil
	}
	allowed := want
	if want > 0 {
		allowed += maxSurge(d)
	}
	toAdd := allowed - specReplicas(active...)
	if toAdd == 0 {
		return nil
	}
	sort.SliceStable(active, func(i, j int) bool {
		a, b := replicasOf(active[i].Spec.Replicas), replicasOf(active[j].Spec.Replicas)
		if a != b {
			return a > b
		}
		if toAdd > 0 {
			return active[j].CreationTimestamp.Before(&active[i].CreationTimestamp)
		}
		return active[i].CreationTimestamp.Before(&active[j].CreationTimestamp)
	})
	sizes := map[string]int32{}
	var added int32
	for _, rs := range active {
		p := fraction(rs, d)
		if toAdd > 0 {
			p = min(p, toAdd-added)
		} else {
			p = max(p, toAdd-added)
		}
		sizes[rs.Name] = replicasOf(rs.Spec.Replicas) + p
		added += p
	}
	sizes[active[0].Name] = max(sizes[active[0].Name]+toAdd-added, 0)
	for _, rs := range active {
		if _, err := r.scale(ctx, rs, max(sizes[rs.Name], 0)); err != nil {
			return err
		}
	}
	return nil
}

// fraction is how many replicas rs gains (or loses) when the Deployment
// is scaled, in proportion to its size against the size it was made for.
func fraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if replicasOf(rs.Spec.Replicas) == 0 || replicasOf(d.Spec.Replicas) == 0 {
		return -replicasOf(rs.Spec.Replicas)
	}
	target := replicasOf(d.Spec.Replicas) + maxSurge(d)
	annotated, ok := annotatedInt(rs, maxReplicasAnnotation)
	if !ok || annotated == 0 {
		annotated = d.Status.Replicas
	}
	if annotated == 0 {
		return 0
	}
	size := int32(math.Ceil(float64(replicasOf(rs.Spec.Replicas)) * float64(target) / float64(annotated)))
	return size - replicasOf(rs.Spec.Replicas)
}

// scale sets rs's replicas to n and its replica annotations; it reports
// whether it wrote.
func (r *rollout) scale(ctx context.Context, rs *appsv1.ReplicaSet, n int32) (bool, error) {
	d := r.d
	next := rs.DeepCopy()
	annotated := setReplicaAnnotations(next, replicasOf(d.Spec.Replicas), replicasOf(d.Spec.Replicas)+maxSurge(d))
	from := replicasOf(rs.Spec.Replicas)
	if from == n && !annotated {
		return false, nil
	}
	next.Spec.Replicas = &n
	updated, err := r.c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return false, fmt.Errorf("scale replicaset %s to %d: %w", rs.Name, n, err)
	}
	for i, cur := range r.rss {
		if cur.UID == updated.UID {
			r.rss[i] = updated
		}
	}
	if from != n {
		op := "up"
		if n < from {
			op = "down"
		}
		r.c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.Name, from, n)
	}
	return from != n, nil
}

// cleanup deletes the old ReplicaSets at 0 beyond revisionHistoryLimit,
// oldest revision first.
func (r *rollout) cleanup(ctx context.Context, old []*appsv1.ReplicaSet) error {
	limit := r.d.Spec.RevisionHistoryLimit
	if limit == nil {
		return nil
	}
	var idle []*appsv1.ReplicaSet
	for _, rs := range old {
		rs = r.latest(rs)
		if rs.Status.Replicas == 0 && replicasOf(rs.Spec.Replicas) == 0 && rs.Generation == rs.Status.ObservedGeneration && rs.DeletionTimestamp == nil {
			idle = append(idle, rs)
		}
	}
	extra := len(idle) - int(*limit)
	if extra <= 0 {
		return nil
	}
	sort.SliceStable(idle, func(i, j int) bool { return revisionOf(idle[i]) < revisionOf(idle[j]) })
	for _, rs := range idle[:extra] {
		err := r.c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rs.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", rs.Name, err)
		}
		logging.FromContext(ctx).Info("deleted old replicaset", "replicaset", rs.Name, "revision", strconv.FormatInt(revisionOf(rs), 10))
	}
	return nil
}

// writeDeploymentStatus writes d's status (and revision annotation) as it
// stands.
func (r *rollout) writeDeploymentStatus(ctx context.Context) error {
	updated, err := r.c.client.AppsV1().Deployments(r.d.Namespace).UpdateStatus(ctx, r.d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update deployment status: %w", err)
	}
	r.d = updated
	return nil
}

// writeStatus writes status when it differs from d's.
func (r *rollout) writeStatus(ctx context.Context, status appsv1.DeploymentStatus) error {
	if equality.Semantic.DeepEqual(r.d.Status, status) {
		return nil
	}
	r.d.Status = status
	return r.writeDeploymentStatus(ctx)
}
