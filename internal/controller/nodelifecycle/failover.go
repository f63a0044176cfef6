package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"petset/internal/fencing"
	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// MessageNodeFenced is the message of the NodeFenced event on a pod the
// controller deleted, with the node's name.
const MessageNodeFenced = "Node %s stopped renewing its lease and fenced itself; pod deleted so its StatefulSet can replace it"

// failoverState is the automatic failover of one lost node (read and
// written only by the monitor loop).
type failoverState struct {
	// markedAt is the controller's clock once the lease's fenced-at mark
	// was committed; the node's opted-in pods are deleted no earlier than
	// markedAt + timeout + fencing.Margin(timeout).
	markedAt time.Time
	// leaseRV is the lease's resourceVersion the mark was written at: a
	// lease written since (the agent renewed) calls the failover off.
	leaseRV string
	// timeout is the node's fence timeout (the largest seen since the mark).
	timeout time.Duration
	// deleted are the UIDs of the pods deleted by this failover.
	deleted map[types.UID]bool
	// done: every opted-in pod was deleted and the mark removed.
	done bool
}

// failover runs the control plane's half of the fencing protocol
// (docs/fencing.md) for one node, once per pass. lost is the grace-period
// rule's verdict (no lease renewal or status for the grace period).
//
// For a lost node that announces a fence timeout T (fencing.FenceTimeout)
// and runs pods that opted in (fencing.AutoFailover) it marks the node's
// Lease (fencing.FencedAtAnnotation) with an update conditioned on the
// resourceVersion the health decision saw — a conflict means the agent
// renewed, and nothing happens; then, T + fencing.Margin(T) later on the
// controller's clock, provided the lease was not written since the mark,
// it force-deletes those pods (grace 0, UID precondition) with a NodeFenced
// event on each, and removes the mark. A node that is healthy again, or no
// longer announces a fence, before the deletes gets its mark removed and
// loses no pod. A healthy node's lease never keeps a mark.
func (c *Controller) failover(ctx context.Context, node *v1.Node, lost bool, pods []*v1.Pod, now time.Time) error {
	log := logging.FromContext(ctx)
	st := c.failovers[node.Name]
	if !lost {
		if st == nil && !c.leaseMarked(node.Name) {
			return nil
		}
		delete(c.failovers, node.Name)
		if st != nil && !st.done {
			log.Info("node is back before its pods were failed over; removing the fence mark, deleting nothing")
		}
		return c.clearMark(ctx, node.Name)
	}
	timeout, fenced := fencing.FenceTimeout(node)
	if !fenced {
		if st == nil || st.done {
			return nil
		}
		delete(c.failovers, node.Name)
		log.Info("node no longer announces a fence timeout; removing the fence mark, deleting nothing")
		return c.clearMark(ctx, node.Name)
	}
	var optedIn []*v1.Pod
	for _, p := range pods {
		if fencing.AutoFailover(p) && (st == nil || !st.deleted[p.UID]) {
			optedIn = append(optedIn, p)
		}
	}
	if st != nil && st.done {
		if len(optedIn) == 0 {
			return nil
		}
		// Pods that opted in were bound to the node after its failover:
		// they get one of their own.
		delete(c.failovers, node.Name)
		st = nil
	}
	if st == nil {
		if len(optedIn) == 0 {
			return nil
		}
		return c.mark(ctx, node.Name, timeout)
	}

	st.timeout = max(st.timeout, timeout)
	deadline := st.markedAt.Add(st.timeout + fencing.Margin(st.timeout))
	if now.Before(deadline) {
		return nil
	}
	// The lease, read from the API (a quorum read): only if nobody wrote it
	// since the mark has the agent not renewed.
	l, err := c.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, node.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		delete(c.failovers, node.Name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read lease before failover: %w", err)
	}
	if l.ResourceVersion != st.leaseRV {
		delete(c.failovers, node.Name)
		log.Info("node's lease was written after the fence mark; deleting nothing", "markedAt", st.markedAt)
		return c.clearMark(ctx, node.Name)
	}
	var errs []error
	zero := int64(0)
	for _, p := range optedIn {
		uid := p.UID
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
		})
		switch {
		case err == nil:
			log.Info("pod of a fenced node deleted", "pod", p.Namespace+"/"+p.Name, "markedAt", st.markedAt, "fenceTimeout", st.timeout)
			c.event(ctx, podRef(p), v1.EventTypeWarning, fencing.ReasonNodeFenced, fmt.Sprintf(MessageNodeFenced, node.Name), now)
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone already, or the name is another pod's now.
		default:
			errs = append(errs, fmt.Errorf("delete pod %s/%s of fenced node: %w", p.Namespace, p.Name, err))
			continue
		}
		st.deleted[uid] = true
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := c.clearMark(ctx, node.Name); err != nil {
		return err
	}
	st.done = true
	return nil
}

// mark writes the fenced-at mark on the node's lease as the informer cache
// holds it, conditioned on its resourceVersion, and starts the wait.
func (c *Controller) mark(ctx context.Context, name string, timeout time.Duration) error {
	log := logging.FromContext(ctx)
	cached, err := c.leases.Leases(LeaseNamespace).Get(name)
	if apierrors.IsNotFound(err) {
		log.Debug("lost node has no lease to mark; no automatic failover")
		return nil
	}
	if err != nil {
		return fmt.Errorf("lease of lost node: %w", err)
	}
	next := cached.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[fencing.FencedAtAnnotation] = c.clock.Now().UTC().Format(time.RFC3339)
	written, err := c.client.CoordinationV1().Leases(LeaseNamespace).Update(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		log.Info("node's lease changed since it was judged lost; not marking it", "reason", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark lease fenced: %w", err)
	}
	// The wait starts once the mark is committed.
	st := &failoverState{markedAt: c.clock.Now(), leaseRV: written.ResourceVersion, timeout: timeout, deleted: map[types.UID]bool{}}
	c.failovers[name] = st
	log.Info("node lost: lease marked fenced; its pods that opted into automatic failover are deleted once its fence has expired",
		"fenceTimeout", timeout, "margin", fencing.Margin(timeout), "notBefore", st.markedAt.Add(timeout+fencing.Margin(timeout)))
	return nil
}

// leaseMarked reports whether the cached lease of the node carries the mark.
func (c *Controller) leaseMarked(name string) bool {
	l, err := c.leases.Leases(LeaseNamespace).Get(name)
	if err != nil {
		return false
	}
	_, ok := l.Annotations[fencing.FencedAtAnnotation]
	return ok
}

// clearMark removes the fenced-at mark from the node's lease, if it is there.
func (c *Controller) clearMark(ctx context.Context, name string) error {
	removed := false
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		l, err := c.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if _, ok := l.Annotations[fencing.FencedAtAnnotation]; !ok {
			return nil
		}
		next := l.DeepCopy()
		delete(next.Annotations, fencing.FencedAtAnnotation)
		if _, err := c.client.CoordinationV1().Leases(LeaseNamespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return err
		}
		removed = true
		return nil
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove fence mark: %w", err)
	}
	if removed {
		logging.FromContext(ctx).Info("fence mark removed from the node's lease")
	}
	return nil
}
