package replicaset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// computeStatus is rs's status for its active pods at now; manageErr is
// the failure of this sync's creations or deletions, if any.
func computeStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	s := appsv1.ReplicaSetStatus{
		Replicas:           int32(len(active)),
		ObservedGeneration: rs.Generation,
		Conditions:         append([]appsv1.ReplicaSetCondition(nil), rs.Status.Conditions...),
	}
	template := labels.SelectorFromSet(rs.Spec.Template.Labels)
	for _, p := range active {
		if template.Matches(labels.Set(p.Labels)) {
			s.FullyLabeledReplicas++
		}
		if isReady(p) {
			s.ReadyReplicas++
			if isAvailable(p, rs.Spec.MinReadySeconds, now) {
				s.AvailableReplicas++
			}
		}
	}
	i := failureCondition(s.Conditions)
	switch {
	case manageErr != nil && i < 0:
		reason := "FailedCreate"
		if len(active) > int(replicas(rs)) {
			reason = "FailedDelete"
		}
		s.Conditions = append(s.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && i >= 0:
		s.Conditions = append(s.Conditions[:i], s.Conditions[i+1:]...)
	}
	if len(s.Conditions) == 0 {
		s.Conditions = nil
	}
	return s
}

func failureCondition(conds []appsv1.ReplicaSetCondition) int {
	for i, c := range conds {
		if c.Type == appsv1.ReplicaSetReplicaFailure {
			return i
		}
	}
	return -1
}

// writeStatus writes status when it differs from rs's.
func (c *Controller) writeStatus(ctx context.Context, rs *appsv1.ReplicaSet, status appsv1.ReplicaSetStatus) error {
	status.TerminatingReplicas = rs.Status.TerminatingReplicas
	if equality.Semantic.DeepEqual(rs.Status, status) {
		return nil
	}
	next := rs.DeepCopy()
	next.Status = status
	if _, err := c.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}
