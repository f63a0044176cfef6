package deployment

import (
	"context"
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"petset/internal/controller/runner"
)

// Progressing condition reasons, kube's.
const (
	reasonNewRSAvailable = "NewReplicaSetAvailable"
	reasonRSUpdated      = "ReplicaSetUpdated"
	reasonTimedOut       = "ProgressDeadlineExceeded"
	reasonPaused         = "DeploymentPaused"
	reasonResumed        = "DeploymentResumed"
	reasonMinAvailable   = "MinimumReplicasAvailable"
	reasonMinUnavailable = "MinimumReplicasUnavailable"
)

func hasDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

func condition(s appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

func newCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) appsv1.DeploymentCondition {
	at := metav1.NewTime(now)
	return appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: message, LastUpdateTime: at, LastTransitionTime: at}
}

// setCondition puts c in s: nothing changes when one of its type has the
// same status and reason; the transition time stays when the status does.
func setCondition(s *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := condition(*s, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(s, c.Type)
	s.Conditions = append(s.Conditions, c)
}

func removeCondition(s *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var kept []appsv1.DeploymentCondition
	for _, c := range s.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	s.Conditions = kept
}

// calculateStatus is the Deployment's status from its ReplicaSets (newRS
// may be nil), with the Available condition.
func (r *rollout) calculateStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) appsv1.DeploymentStatus {
	d := r.d
	s := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
		TerminatingReplicas: d.Status.TerminatingReplicas,
	}
	var spec int32
	for _, rs := range all {
		if rs == nil {
			continue
		}
		s.Replicas += rs.Status.Replicas
		s.ReadyReplicas += rs.Status.ReadyReplicas
		s.AvailableReplicas += rs.Status.AvailableReplicas
		spec += replicasOf(rs.Spec.Replicas)
	}
	if newRS != nil {
		s.UpdatedReplicas = newRS.Status.Replicas
	}
	s.UnavailableReplicas = max(spec-s.AvailableReplicas, 0)
	now := r.c.clock.Now()
	if s.AvailableReplicas >= replicasOf(d.Spec.Replicas)-maxUnavailable(d) {
		setCondition(&s, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, reasonMinAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(&s, newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, reasonMinUnavailable, "Deployment does not have minimum availability.", now))
	}
	return s
}

// complete: every replica is updated and available, at the current generation.
func complete(d *appsv1.Deployment, s appsv1.DeploymentStatus) bool {
	want := replicasOf(d.Spec.Replicas)
	return s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want && s.ObservedGeneration >= d.Generation
}

// progressed: more pods updated, ready or available, or fewer old ones,
// than the status said.
func progressed(d *appsv1.Deployment, s appsv1.DeploymentStatus) bool {
	old := d.Status
	return s.UpdatedReplicas > old.UpdatedReplicas || s.Replicas-s.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		s.ReadyReplicas > old.ReadyReplicas || s.AvailableReplicas > old.AvailableReplicas
}

// syncRolloutStatus writes the status with the Progressing condition and,
// while the rollout neither completed nor timed out, asks to come back at
// its deadline. stepErr, a failure of this sync's step, is returned.
func (r *rollout) syncRolloutStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, stepErr error) (runner.Result, error) {
	d := r.d
	all, newRS = r.latestAll(all), r.latestOrNil(newRS)
	s := r.calculateStatus(all, newRS)
	now := r.c.clock.Now()
	if !hasDeadline(d) {
		removeCondition(&s, appsv1.DeploymentProgressing)
	}
	cur := condition(s, appsv1.DeploymentProgressing)
	done := s.Replicas == s.UpdatedReplicas && cur != nil && cur.Reason == reasonNewRSAvailable
	if hasDeadline(d) && !done && newRS != nil {
		switch {
		case complete(d, s):
			setCondition(&s, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewRSAvailable,
				fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name), now))
		case progressed(d, s):
			c := newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonRSUpdated,
				fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name), now)
			if cur != nil && cur.Status == corev1.ConditionTrue {
				c.LastTransitionTime = cur.LastTransitionTime
			}
			removeCondition(&s, appsv1.DeploymentProgressing)
			s.Conditions = append(s.Conditions, c)
		case timedOut(d, cur, now):
			setCondition(&s, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonTimedOut,
				fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name), now))
		}
	}
	// A ReplicaSet's failure to create or delete pods is the Deployment's.
	removeCondition(&s, appsv1.DeploymentReplicaFailure)
	for _, rs := range all {
		if rs == nil {
			continue
		}
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && condition(s, appsv1.DeploymentReplicaFailure) == nil {
				s.Conditions = append(s.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure,
					Status: c.Status, Reason: c.Reason, Message: c.Message, LastUpdateTime: c.LastTransitionTime, LastTransitionTime: c.LastTransitionTime})
			}
		}
	}
	if err := r.writeStatus(ctx, s); err != nil {
		return runner.Done, err
	}
	if stepErr != nil {
		return runner.Done, stepErr
	}
	// Still rolling: come back when the deadline passes.
	cur = condition(s, appsv1.DeploymentProgressing)
	if hasDeadline(d) && cur != nil && cur.Reason != reasonNewRSAvailable && cur.Reason != reasonTimedOut && cur.Status == corev1.ConditionTrue {
		left := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
		return runner.RequeueAfter(left + time.Second), nil
	}
	return runner.Done, nil
}

// timedOut: the Progressing condition has not moved for progressDeadlineSeconds.
func timedOut(d *appsv1.Deployment, cur *appsv1.DeploymentCondition, now time.Time) bool {
	if cur == nil || cur.Reason == reasonNewRSAvailable {
		return false
	}
	if cur.Reason == reasonTimedOut {
		return true
	}
	return now.After(cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second))
}

// checkPaused records a pause or a resume in the Progressing condition.
func (r *rollout) checkPaused(ctx context.Context) error {
	d := r.d
	if !hasDeadline(d) {
		return nil
	}
	cur := condition(d.Status, appsv1.DeploymentProgressing)
	paused := cur != nil && cur.Reason == reasonPaused
	now := r.c.clock.Now()
	switch {
	case d.Spec.Paused && !paused:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonPaused, "Deployment is paused", now))
	case !d.Spec.Paused && paused:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonResumed, "Deployment is resumed", now))
	default:
		return nil
	}
	return r.writeDeploymentStatus(ctx)
}
