package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"petset/internal/logging"
)

// manage creates or deletes pods so that rs has spec.replicas active ones.
func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	diff := len(active) - int(replicas(rs))
	switch {
	case diff < 0:
		n := min(-diff, burstReplicas)
		c.expect.expect(key, n, nil, c.clock.Now())
		created, err := c.createPods(ctx, rs, n)
		for range n - created {
			c.expect.created(key) // never coming
		}
		return err
	case diff > 0:
		n := min(diff, burstReplicas)
		related, err := c.relatedPods(rs)
		if err != nil {
			return err
		}
		victims := podsToDelete(active, related, n, c.clock.Now())
		uids := make([]types.UID, len(victims))
		for i, p := range victims {
			uids[i] = p.UID
		}
		c.expect.expect(key, 0, uids, c.clock.Now())
		return c.deletePods(ctx, key, rs, victims)
	}
	return nil
}

func replicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// createPods creates n pods of rs's template in batches of 1, 2, 4…,
// stopping after a batch with a failure; it returns how many it created.
func (c *Controller) createPods(ctx context.Context, rs *appsv1.ReplicaSet, n int) (int, error) {
	created := 0
	for batch := 1; created < n; batch *= 2 {
		size := min(batch, n-created)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for range size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.createPod(ctx, rs); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		created += size - len(errs)
		if len(errs) > 0 {
			return created, errors.Join(errs...)
		}
	}
	return created, nil
}

func (c *Controller) createPod(ctx context.Context, rs *appsv1.ReplicaSet) error {
	pod, err := c.client.CoreV1().Pods(rs.Namespace).Create(ctx, podFromTemplate(rs), metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil // the namespace goes, and the ReplicaSet with it
		}
		c.recorder.Eventf(rs, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pod: %w", err)
	}
	logging.FromContext(ctx).Debug("created pod", "pod", pod.Name)
	c.recorder.Eventf(rs, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
	return nil
}

// podFromTemplate is a new pod of rs: the template's labels, annotations,
// finalizers and spec, named <rs>-<random>, controlled by rs.
func podFromTemplate(rs *appsv1.ReplicaSet) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, rsKind)},
		},
		Spec: t.Spec,
	}
}

// deletePods deletes victims at once; a deletion that failed is no longer
// expected.
func (c *Controller) deletePods(ctx context.Context, key string, rs *appsv1.ReplicaSet, victims []*corev1.Pod) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			switch {
			case err == nil:
				c.recorder.Eventf(rs, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
				return
			case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
				// Gone already, or another pod of that name.
			default:
				c.recorder.Eventf(rs, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
				mu.Unlock()
			}
			c.expect.deleted(key, p.UID)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// relatedPods are the active pods of every ReplicaSet with rs's controller
// (a Deployment's ReplicaSets), or rs's own when it has none.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	owners := map[types.UID]bool{rs.UID: true}
	if ref := metav1.GetControllerOf(rs); ref != nil {
		sets, err := c.sets.ReplicaSets(rs.Namespace).List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("list replicasets: %w", err)
		}
		for _, other := range sets {
			if r := metav1.GetControllerOf(other); r != nil && r.UID == ref.UID {
				owners[other.UID] = true
			}
		}
	}
	pods, err := c.pods.Pods(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []*corev1.Pod
	for _, p := range activePods(pods) {
		if r := metav1.GetControllerOf(p); r != nil && owners[r.UID] {
			out = append(out, p)
		}
	}
	return out, nil
}
