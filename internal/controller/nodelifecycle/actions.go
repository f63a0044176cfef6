package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"petset/internal/logging"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// Reasons and messages written on conditions, pods and events, as upstream.
const (
	ReasonNodeStatusUnknown      = "NodeStatusUnknown"
	MessageNodeStatusUnknown     = "Kubelet stopped posting node status."
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageNeverUpdated          = "Kubelet never posted node status."
	ReasonTaintEviction          = "DeletionByTaintManager"
	MessageTaintEviction         = "Taint manager: deleting due to NoExecute taint"
	// ReasonNodeLost and MessageNodeLost (with the node's and the pod's
	// names) are the pod status reason and message written before a pod is
	// evicted because of the not-ready or unreachable taint, as kube's node
	// controller did up to 1.8 (kubectl then prints STATUS Unknown for the
	// deleted pod); kube 1.37 no longer writes them. See docs/force-delete.md.
	ReasonNodeLost  = "NodeLost"
	MessageNodeLost = "Node %s which was running pod %s is unresponsive"
)

// conditionTypes are the node conditions set to Unknown for a lost node.
var conditionTypes = []v1.NodeConditionType{v1.NodeReady, v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure}

// markUnknown sets every node condition to Unknown, unless a fresh read shows
// the agent posted a new heartbeat meanwhile. It returns the written node, or
// nil when nothing was written.
func (c *Controller) markUnknown(ctx context.Context, stale *v1.Node, h *nodeHealth, now time.Time) (*v1.Node, error) {
	var written *v1.Node
	wasReady := false
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		written = nil
		node, err := c.client.CoreV1().Nodes().Get(ctx, stale.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if rc := readyCondition(node); rc != nil && !rc.LastHeartbeatTime.IsZero() && !rc.LastHeartbeatTime.Equal(&h.heartbeat) {
			// The agent is back; the next pass sees it.
			return nil
		}
		rc := readyCondition(node)
		wasReady = rc != nil && rc.Status == v1.ConditionTrue
		next := node.DeepCopy()
		changed := false
		for _, t := range conditionTypes {
			i := conditionIndex(next.Status.Conditions, t)
			if i < 0 {
				next.Status.Conditions = append(next.Status.Conditions, v1.NodeCondition{
					Type: t, Status: v1.ConditionUnknown,
					Reason: ReasonNodeStatusNeverUpdated, Message: MessageNeverUpdated,
					LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: metav1.NewTime(now),
				})
				changed = true
				continue
			}
			cond := &next.Status.Conditions[i]
			if cond.Status == v1.ConditionUnknown {
				continue
			}
			cond.Status = v1.ConditionUnknown
			cond.Reason = ReasonNodeStatusUnknown
			cond.Message = MessageNodeStatusUnknown
			cond.LastTransitionTime = metav1.NewTime(now)
			changed = true
		}
		if !changed {
			return nil
		}
		written, err = c.client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mark node conditions unknown: %w", err)
	}
	if written != nil {
		logging.FromContext(ctx).Info("node stopped posting status; conditions set to Unknown", "since", h.probe)
		if wasReady {
			c.event(ctx, nodeRef(written), v1.EventTypeNormal, "NodeNotReady", fmt.Sprintf("Node %s status is now: NodeNotReady", written.Name), now)
		}
	}
	return written, nil
}

func conditionIndex(conds []v1.NodeCondition, t v1.NodeConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}

// managedTaint reports whether this controller adds and removes the taint:
// the condition taints with NoSchedule, and not-ready/unreachable with
// NoExecute. Anything else on the node (a user's taint) is left alone.
func managedTaint(key string, effect v1.TaintEffect) bool {
	switch key {
	case v1.TaintNodeNotReady, v1.TaintNodeUnreachable:
		return effect == v1.TaintEffectNoSchedule || effect == v1.TaintEffectNoExecute
	case v1.TaintNodeMemoryPressure, v1.TaintNodeDiskPressure, v1.TaintNodePIDPressure,
		v1.TaintNodeNetworkUnavailable, v1.TaintNodeUnschedulable:
		return effect == v1.TaintEffectNoSchedule
	}
	return false
}

type taintKey struct {
	key    string
	effect v1.TaintEffect
}

// desiredTaints derives the managed taints from a node's conditions and
// spec.unschedulable.
func desiredTaints(node *v1.Node) map[taintKey]bool {
	want := map[taintKey]bool{}
	add := func(key string, effects ...v1.TaintEffect) {
		for _, e := range effects {
			want[taintKey{key, e}] = true
		}
	}
	for _, cond := range node.Status.Conditions {
		switch cond.Type {
		case v1.NodeReady:
			switch cond.Status {
			case v1.ConditionFalse:
				add(v1.TaintNodeNotReady, v1.TaintEffectNoSchedule, v1.TaintEffectNoExecute)
			case v1.ConditionUnknown:
				add(v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule, v1.TaintEffectNoExecute)
			}
		case v1.NodeMemoryPressure:
			if cond.Status == v1.ConditionTrue {
				add(v1.TaintNodeMemoryPressure, v1.TaintEffectNoSchedule)
			}
		case v1.NodeDiskPressure:
			if cond.Status == v1.ConditionTrue {
				add(v1.TaintNodeDiskPressure, v1.TaintEffectNoSchedule)
			}
		case v1.NodePIDPressure:
			if cond.Status == v1.ConditionTrue {
				add(v1.TaintNodePIDPressure, v1.TaintEffectNoSchedule)
			}
		case v1.NodeNetworkUnavailable:
			if cond.Status == v1.ConditionTrue {
				add(v1.TaintNodeNetworkUnavailable, v1.TaintEffectNoSchedule)
			}
		}
	}
	if node.Spec.Unschedulable {
		add(v1.TaintNodeUnschedulable, v1.TaintEffectNoSchedule)
	}
	return want
}

// withTaints returns the node's taints with the managed ones replaced by the
// desired set (existing ones keep their timeAdded), and whether that differs.
func withTaints(node *v1.Node, want map[taintKey]bool, now time.Time) ([]v1.Taint, bool) {
	var out []v1.Taint
	have := map[taintKey]bool{}
	changed := false
	for _, t := range node.Spec.Taints {
		k := taintKey{t.Key, t.Effect}
		if managedTaint(t.Key, t.Effect) && !want[k] {
			changed = true
			continue
		}
		if have[k] {
			continue
		}
		have[k] = true
		out = append(out, t)
	}
	// Add in a stable order: NoSchedule before NoExecute, keys sorted.
	for _, e := range []v1.TaintEffect{v1.TaintEffectNoSchedule, v1.TaintEffectNoExecute} {
		for _, key := range []string{v1.TaintNodeNotReady, v1.TaintNodeUnreachable, v1.TaintNodeMemoryPressure, v1.TaintNodeDiskPressure, v1.TaintNodePIDPressure, v1.TaintNodeNetworkUnavailable, v1.TaintNodeUnschedulable} {
			k := taintKey{key, e}
			if !want[k] || have[k] {
				continue
			}
			added := metav1.NewTime(now)
			out = append(out, v1.Taint{Key: key, Effect: e, TimeAdded: &added})
			changed = true
		}
	}
	return out, changed
}

// reconcileTaints writes the taints the node's conditions call for. It
// returns the written node, or nil when nothing changed.
func (c *Controller) reconcileTaints(ctx context.Context, cached *v1.Node, now time.Time) (*v1.Node, error) {
	if _, changed := withTaints(cached, desiredTaints(cached), now); !changed {
		return nil, nil
	}
	var written *v1.Node
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		written = nil
		node, err := c.client.CoreV1().Nodes().Get(ctx, cached.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints, changed := withTaints(node, desiredTaints(node), now)
		if !changed {
			return nil
		}
		next := node.DeepCopy()
		next.Spec.Taints = taints
		written, err = c.client.CoreV1().Nodes().Update(ctx, next, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update taints: %w", err)
	}
	if written != nil {
		logging.FromContext(ctx).Info("node taints updated", "taints", taintStrings(written.Spec.Taints))
	}
	return written, nil
}

func taintStrings(ts []v1.Taint) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ToString()
	}
	return out
}

// markPodsNotReady sets Ready=False on the node's pods (reason and message
// kept, lastTransitionTime now).
func (c *Controller) markPodsNotReady(ctx context.Context, pods []*v1.Pod, now time.Time) error {
	var errs []error
	for _, p := range pods {
		i := podConditionIndex(p.Status.Conditions, v1.PodReady)
		if i < 0 || p.Status.Conditions[i].Status == v1.ConditionFalse {
			continue
		}
		next := p.DeepCopy()
		next.Status.Conditions[i].Status = v1.ConditionFalse
		next.Status.Conditions[i].LastTransitionTime = metav1.NewTime(now)
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			if !isNotFound(err) {
				errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err))
			}
			continue
		}
		logging.FromContext(ctx).Info("pod marked not ready", "pod", p.Namespace+"/"+p.Name)
		c.event(ctx, podRef(p), v1.EventTypeWarning, "NodeNotReady", "Node is not ready", now)
	}
	return errors.Join(errs...)
}

func podConditionIndex(conds []v1.PodCondition, t v1.PodConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}

// evict deletes, gracefully, the pods whose tolerations of the node's
// NoExecute taints have run out.
func (c *Controller) evict(ctx context.Context, node *v1.Node, pods []*v1.Pod, now time.Time) error {
	var noExec []v1.Taint
	var latest time.Time
	timed := true
	for _, t := range node.Spec.Taints {
		if t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		noExec = append(noExec, t)
		if t.TimeAdded == nil {
			timed = false
		} else if t.TimeAdded.After(latest) {
			latest = t.TimeAdded.Time
		}
	}
	if len(noExec) == 0 {
		for _, p := range pods {
			delete(c.firstTainted, string(p.UID))
		}
		return nil
	}
	nodeLost := false
	for _, t := range noExec {
		if t.Key == v1.TaintNodeUnreachable || t.Key == v1.TaintNodeNotReady {
			nodeLost = true
		}
	}
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			delete(c.firstTainted, string(p.UID))
			continue
		}
		wait, tolerated := tolerationTime(noExec, p.Spec.Tolerations)
		if tolerated && wait < 0 {
			continue // tolerated for ever
		}
		start := latest
		if !timed || start.IsZero() {
			first, ok := c.firstTainted[string(p.UID)]
			if !ok {
				first = now
				c.firstTainted[string(p.UID)] = now
			}
			start = first
		}
		if tolerated && now.Before(start.Add(wait)) {
			continue
		}
		if err := c.evictPod(ctx, node, p, nodeLost, now); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(c.firstTainted, string(p.UID))
	}
	return errors.Join(errs...)
}

// tolerationTime reports whether every taint is tolerated and for how long:
// the shortest tolerationSeconds of the tolerations used (0 for a non-positive
// value), or -1 when none of them carries tolerationSeconds.
func tolerationTime(taints []v1.Taint, tolerations []v1.Toleration) (time.Duration, bool) {
	var used []v1.Toleration
	for i := range taints {
		found := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(logr.Discard(), &taints[i], false) {
				used = append(used, tolerations[j])
				found = true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	minSecs := int64(math.MaxInt64)
	for _, t := range used {
		if t.TolerationSeconds == nil {
			continue
		}
		if *t.TolerationSeconds <= 0 {
			return 0, true
		}
		minSecs = min(minSecs, *t.TolerationSeconds)
	}
	if minSecs == math.MaxInt64 {
		return -1, true
	}
	return time.Duration(minSecs) * time.Second, true
}

// evictPod records why the pod goes (a DisruptionTarget condition, as
// upstream; for a node that is not ready or unreachable also the status
// reason NodeLost and its message, as kube up to 1.8) and deletes it
// gracefully.
func (c *Controller) evictPod(ctx context.Context, node *v1.Node, p *v1.Pod, nodeLost bool, now time.Time) error {
	next := p.DeepCopy()
	if nodeLost {
		next.Status.Reason = ReasonNodeLost
		next.Status.Message = fmt.Sprintf(MessageNodeLost, node.Name, p.Name)
	}
	cond := v1.PodCondition{
		Type: v1.DisruptionTarget, Status: v1.ConditionTrue,
		Reason: ReasonTaintEviction, Message: MessageTaintEviction,
		LastTransitionTime: metav1.NewTime(now),
	}
	if i := podConditionIndex(next.Status.Conditions, v1.DisruptionTarget); i >= 0 {
		next.Status.Conditions[i] = cond
	} else {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !isNotFound(err) {
		logging.FromContext(ctx).Info("could not record eviction condition; deleting anyway", "pod", p.Namespace+"/"+p.Name, logging.ErrKey, err)
	}
	uid := p.UID
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("evict pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	logging.FromContext(ctx).Info("pod evicted from NoExecute-tainted node", "pod", p.Namespace+"/"+p.Name)
	c.event(ctx, podRef(p), v1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod "+p.Namespace+"/"+p.Name, now)
	return nil
}

func nodeRef(n *v1.Node) v1.ObjectReference {
	// Node events use the node name as UID, as kubelet and the node
	// controller do.
	return v1.ObjectReference{Kind: "Node", Name: n.Name, UID: types.UID(n.Name), APIVersion: "v1"}
}

func podRef(p *v1.Pod) v1.ObjectReference {
	return v1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID, APIVersion: "v1", ResourceVersion: p.ResourceVersion}
}

// event records a core/v1 Event from the node controller. Failures are
// logged only: events are best effort.
func (c *Controller) event(ctx context.Context, ref v1.ObjectReference, typ, reason, msg string, now time.Time) {
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ts := metav1.NewTime(now)
	ev := &v1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: ref.Name + "." + strconv.FormatInt(now.UnixNano(), 16), Namespace: ns},
		InvolvedObject: ref,
		Reason:         reason,
		Message:        msg,
		Type:           typ,
		Source:         v1.EventSource{Component: "node-controller"},
		FirstTimestamp: ts,
		LastTimestamp:  ts,
		Count:          1,
	}
	if _, err := c.client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		logging.FromContext(ctx).Debug("recording event", "reason", reason, logging.ErrKey, err)
	}
}
