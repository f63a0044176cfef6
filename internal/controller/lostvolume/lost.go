package lostvolume

import (
	"fmt"
	"strings"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
)

const (
	// PolicyAnnotation on a StatefulSet chooses what happens to a pod whose
	// claim is bound to a volume pinned to a lost node: PolicyWait (the
	// default) or PolicyRecreate.
	PolicyAnnotation = "petset.io/lost-volume-policy"
	// PolicyWait leaves the pod Pending until the node returns.
	PolicyWait = "Wait"
	// PolicyRecreate deletes the claim and the pod once the node has been
	// lost for the set's bound, so the pod starts elsewhere on an empty
	// volume.
	PolicyRecreate = "Recreate"
	// AfterAnnotation on a StatefulSet is the bound: how long a node must
	// have been not Ready before its volumes count as lost (a Go duration,
	// default DefaultAfter). A deleted node is lost at once.
	AfterAnnotation = "petset.io/lost-volume-after"
	// DefaultAfter is the bound without AfterAnnotation: kube's former
	// pod-eviction-timeout, and the default tolerations' 300 s.
	DefaultAfter = 5 * time.Minute

	// ReasonRecreated is the reason of the set's event for a recreated claim.
	ReasonRecreated = "LostVolumeRecreated"
	// ReasonVolumeNodeLost is the reason of the scheduler's event that
	// explains a pod Pending on a volume of a lost node (Hint).
	ReasonVolumeNodeLost = "VolumeNodeLost"
	// ReasonInvalidPolicy is the reason of the set's event for a bad
	// annotation.
	ReasonInvalidPolicy = "InvalidLostVolumePolicy"
)

// policy is a set's parsed policy.
type policy struct {
	recreate bool
	after    time.Duration
}

// policyOf reads the set's annotations. An unknown policy or a bad bound
// is an error (and the set is treated as Wait).
func policyOf(set *apps.StatefulSet) (policy, error) {
	p := policy{after: DefaultAfter}
	switch v := set.Annotations[PolicyAnnotation]; v {
	case "", PolicyWait:
	case PolicyRecreate:
		p.recreate = true
	default:
		return policy{}, fmt.Errorf("%s: %q is neither %s nor %s", PolicyAnnotation, v, PolicyWait, PolicyRecreate)
	}
	if v, ok := set.Annotations[AfterAnnotation]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return policy{}, fmt.Errorf("%s: %q is not a non-negative duration such as 5m", AfterAnnotation, v)
		}
		p.after = d
	}
	return p, nil
}

// NodeLost judges the node a volume is pinned to. node is nil when no Node
// of that name exists. down is true when the node is gone or its Ready
// condition is not True; lost is true when it is gone, or down for at least
// after (measured from the condition's lastTransitionTime); otherwise wait
// is how long until it would be. why says what the node's state is, for
// events.
func NodeLost(name string, node *v1.Node, now time.Time, after time.Duration) (down, lost bool, wait time.Duration, why string) {
	if node == nil {
		return true, true, 0, fmt.Sprintf("node %q no longer exists", name)
	}
	var ready *v1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == v1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	if ready != nil && ready.Status == v1.ConditionTrue {
		return false, false, 0, ""
	}
	status, since := "no Ready condition", node.CreationTimestamp.Time
	if ready != nil {
		status = fmt.Sprintf("Ready=%s", ready.Status)
		since = ready.LastTransitionTime.Time
	}
	why = fmt.Sprintf("node %q is NotReady (%s since %s)", name, status, since.UTC().Format(time.RFC3339))
	if d := since.Add(after).Sub(now); d > 0 {
		return true, false, d, why
	}
	return true, true, 0, why
}

// PinnedNode returns the single node a volume's required node affinity
// names by kubernetes.io/hostname (petset's local volumes), or "".
func PinnedNode(pv *v1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	if len(terms) != 1 {
		return ""
	}
	for _, e := range terms[0].MatchExpressions {
		if e.Key == v1.LabelHostname && e.Operator == v1.NodeSelectorOpIn && len(e.Values) == 1 {
			return e.Values[0]
		}
	}
	return ""
}

// FindNode returns the node whose kubernetes.io/hostname is host (its name,
// for petset's agents), or nil if there is none.
func FindNode(nodes corelisters.NodeLister, host string) (*v1.Node, error) {
	n, err := nodes.Get(host)
	if err == nil && (n.Labels[v1.LabelHostname] == host || n.Labels[v1.LabelHostname] == "") {
		return n, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("getting node %s: %w", host, err)
	}
	list, err := nodes.List(labels.SelectorFromSet(labels.Set{v1.LabelHostname: host}))
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list[0], nil
}

// unschedulable reports whether the scheduler has tried the pod and found
// no node for it.
func unschedulable(pod *v1.Pod) bool {
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil || pod.Status.Phase != v1.PodPending {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable
		}
	}
	return false
}

// Hint is petset's advice for a pod that cannot be scheduled because claim
// is bound to volume pv on a node that is down (why, from NodeLost): what
// the user can do.
func Hint(claim, pv, node, why string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "persistentvolumeclaim %q is bound to volume %q, whose data is on node %q only, and %s: the pod can only run there. ", claim, pv, node, why)
	fmt.Fprintf(&b, "Bring the node back; or delete the claim and then the pod, and the StatefulSet makes a new pod with a new, empty volume on another node (the old data stays on %q); ", node)
	fmt.Fprintf(&b, "or annotate the StatefulSet %s=%s to have that done once a node has been lost for %s (%s)", PolicyAnnotation, PolicyRecreate, AfterAnnotation, DefaultAfter)
	return b.String()
}
