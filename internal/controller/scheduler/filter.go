package scheduler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Filter failure reasons, in upstream's words.
const (
	msgUnschedulable        = "node(s) were unschedulable"
	msgNodeAffinity         = "node(s) didn't match Pod's node affinity/selector"
	msgPorts                = "node(s) didn't have free ports for the requested pod ports"
	msgTooManyPods          = "Too many pods"
	msgPodAffinity          = "node(s) didn't match pod affinity rules"
	msgPodAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	msgExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
)

const (
	taintNotReady      = "node.kubernetes.io/not-ready"
	taintUnreachable   = "node.kubernetes.io/unreachable"
	taintUnschedulable = "node.kubernetes.io/unschedulable"
)

// filter returns the nodes pod fits on and, for the others, why not.
func (s *Scheduler) filter(pod *v1.Pod, snap *snapshot, pv *podVolumes) ([]*nodeInfo, map[string][]string) {
	failures := map[string][]string{}
	var feasible []*nodeInfo
	aff := newAffinityCheck(pod, snap)
	req := podRequests(pod)
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	for _, ni := range snap.nodes {
		reasons := fitsNode(pod, req, required, ni)
		if len(reasons) == 0 {
			reasons = s.volumesFit(pv, ni.node)
		}
		if len(reasons) == 0 {
			if r := aff.fits(ni); r != "" {
				reasons = []string{r}
			}
		}
		if len(reasons) > 0 {
			failures[ni.node.Name] = reasons
			continue
		}
		feasible = append(feasible, ni)
	}
	return feasible, failures
}

// fitsNode runs the node-local filters in upstream's order and returns the
// reasons of the first that fails.
func fitsNode(pod *v1.Pod, req v1.ResourceList, required nodeaffinity.RequiredNodeAffinity, ni *nodeInfo) []string {
	node := ni.node
	// NodeUnschedulable.
	if node.Spec.Unschedulable && !corev1helpers.TolerationsTolerateTaint(logr.Discard(), pod.Spec.Tolerations,
		&v1.Taint{Key: taintUnschedulable, Effect: v1.TaintEffectNoSchedule}, true) {
		return []string{msgUnschedulable}
	}
	// TaintToleration, including the taint a not-Ready node carries (added
	// here when the node lifecycle controller has not put it on yet).
	taints := effectiveTaints(node)
	if t, bad := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
		return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
	}, true); bad {
		return []string{fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)}
	}
	// NodeAffinity (nodeSelector and required node affinity).
	if ok, err := required.Match(node); !ok || err != nil {
		return []string{msgNodeAffinity}
	}
	// NodePorts.
	if portsConflict(pod, ni.pods) {
		return []string{msgPorts}
	}
	// NodeResourcesFit.
	return insufficient(req, ni)
}

// effectiveTaints returns the node's taints plus the not-ready/unreachable
// taint implied by its Ready condition when it does not carry it yet.
func effectiveTaints(node *v1.Node) []v1.Taint {
	key := ""
	switch readyStatus(node) {
	case v1.ConditionTrue:
		return node.Spec.Taints
	case v1.ConditionUnknown:
		key = taintUnreachable
	default:
		key = taintNotReady
	}
	for _, t := range node.Spec.Taints {
		if (t.Key == taintNotReady || t.Key == taintUnreachable) && t.Effect == v1.TaintEffectNoSchedule {
			return node.Spec.Taints
		}
	}
	out := append([]v1.Taint(nil), node.Spec.Taints...)
	return append(out, v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule})
}

func insufficient(req v1.ResourceList, ni *nodeInfo) []string {
	var reasons []string
	alloc := ni.node.Status.Allocatable
	if maxPods, ok := alloc[v1.ResourcePods]; !ok || int64(len(ni.pods))+1 > maxPods.Value() {
		reasons = append(reasons, msgTooManyPods)
	}
	names := make([]string, 0, len(req))
	for name := range req {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, n := range names {
		name := v1.ResourceName(n)
		want := req[name]
		if want.IsZero() || name == v1.ResourcePods {
			continue
		}
		have := alloc[name]
		used := ni.requested[name]
		if name == v1.ResourceCPU {
			if used.MilliValue()+want.MilliValue() > have.MilliValue() {
				reasons = append(reasons, "Insufficient "+n)
			}
			continue
		}
		if used.Value()+want.Value() > have.Value() {
			reasons = append(reasons, "Insufficient "+n)
		}
	}
	return reasons
}

type hostPort struct {
	ip       string
	protocol v1.Protocol
	port     int32
}

func podHostPorts(p *v1.Pod) []hostPort {
	var out []hostPort
	add := func(cs []v1.Container) {
		for _, c := range cs {
			for _, cp := range c.Ports {
				if cp.HostPort <= 0 {
					continue
				}
				ip := cp.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				proto := cp.Protocol
				if proto == "" {
					proto = v1.ProtocolTCP
				}
				out = append(out, hostPort{ip: ip, protocol: proto, port: cp.HostPort})
			}
		}
	}
	add(p.Spec.InitContainers)
	add(p.Spec.Containers)
	return out
}

func portsConflict(pod *v1.Pod, existing []*v1.Pod) bool {
	want := podHostPorts(pod)
	if len(want) == 0 {
		return false
	}
	for _, p := range existing {
		for _, used := range podHostPorts(p) {
			for _, w := range want {
				if w.port == used.port && w.protocol == used.protocol &&
					(w.ip == used.ip || w.ip == "0.0.0.0" || used.ip == "0.0.0.0") {
					return true
				}
			}
		}
	}
	return false
}

// affinityCheck evaluates required inter-pod affinity for one pod.
type affinityCheck struct {
	pod  *v1.Pod
	snap *snapshot
	// affinityAnywhere: some existing pod matches one of the pod's
	// required affinity terms (otherwise a pod matching its own terms may
	// start the group anywhere).
	affinityAnywhere bool
	selfMatch        bool
}

func newAffinityCheck(pod *v1.Pod, snap *snapshot) *affinityCheck {
	a := &affinityCheck{pod: pod, snap: snap}
	terms := requiredAffinityTerms(pod)
	if len(terms) == 0 {
		return a
	}
	a.selfMatch = true
	for i := range terms {
		if !termMatches(&terms[i], pod, pod, snap.nsLabels) {
			a.selfMatch = false
		}
	}
	for _, ni := range snap.nodes {
		for _, p := range ni.pods {
			for i := range terms {
				if termMatches(&terms[i], pod, p, snap.nsLabels) {
					a.affinityAnywhere = true
				}
			}
		}
	}
	return a
}

// fits returns the reason the node fails inter-pod affinity, or "".
func (a *affinityCheck) fits(cand *nodeInfo) string {
	// The incoming pod's affinity.
	for _, term := range requiredAffinityTerms(a.pod) {
		if _, ok := cand.node.Labels[term.TopologyKey]; !ok {
			return msgPodAffinity
		}
		if !a.affinityAnywhere && a.selfMatch {
			continue
		}
		found := false
		for _, ni := range a.snap.nodes {
			if !sameTopology(ni.node, cand.node, term.TopologyKey) {
				continue
			}
			for _, p := range ni.pods {
				if termMatches(&term, a.pod, p, a.snap.nsLabels) {
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			return msgPodAffinity
		}
	}
	// The incoming pod's anti-affinity.
	for _, term := range requiredAntiAffinityTerms(a.pod) {
		for _, ni := range a.snap.nodes {
			if !sameTopology(ni.node, cand.node, term.TopologyKey) {
				continue
			}
			for _, p := range ni.pods {
				if termMatches(&term, a.pod, p, a.snap.nsLabels) {
					return msgPodAntiAffinity
				}
			}
		}
	}
	// Existing pods' anti-affinity against the incoming pod.
	for _, ni := range a.snap.nodes {
		for _, p := range ni.withRequiredAnti {
			for _, term := range requiredAntiAffinityTerms(p) {
				if sameTopology(ni.node, cand.node, term.TopologyKey) && termMatches(&term, p, a.pod, a.snap.nsLabels) {
					return msgExistingAntiAffinity
				}
			}
		}
	}
	return ""
}

func requiredAffinityTerms(p *v1.Pod) []v1.PodAffinityTerm {
	if p.Spec.Affinity == nil || p.Spec.Affinity.PodAffinity == nil {
		return nil
	}
	return p.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

func requiredAntiAffinityTerms(p *v1.Pod) []v1.PodAffinityTerm {
	if p.Spec.Affinity == nil || p.Spec.Affinity.PodAntiAffinity == nil {
		return nil
	}
	return p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

// sameTopology reports whether both nodes carry key with the same value.
func sameTopology(a, b *v1.Node, key string) bool {
	va, ok1 := a.Labels[key]
	vb, ok2 := b.Labels[key]
	return ok1 && ok2 && va == vb
}

// termMatches reports whether target is selected by term, a term of owner's
// spec (its namespaces default to owner's namespace).
func termMatches(term *v1.PodAffinityTerm, owner, target *v1.Pod, nsLabels func(string) labels.Set) bool {
	if target.UID == owner.UID && target.UID != "" && owner != target {
		return false // a pod never conflicts with itself
	}
	inNS := false
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		inNS = target.Namespace == owner.Namespace
	} else {
		for _, ns := range term.Namespaces {
			if ns == target.Namespace {
				inNS = true
			}
		}
		if !inNS && term.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
			if err == nil && sel.Matches(nsLabels(target.Namespace)) {
				inNS = true
			}
		}
	}
	if !inNS {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(target.Labels))
}

// fitError formats why no node fits, as upstream's FitError does, followed by
// the preemption verdict (petset has no preemption).
func fitError(numNodes int, preFilterMsg string, failures map[string][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available:", numNodes)
	if preFilterMsg != "" {
		fmt.Fprintf(&b, " %s.", preFilterMsg)
	} else {
		counts := map[string]int{}
		for _, reasons := range failures {
			for _, r := range reasons {
				counts[r]++
			}
		}
		var parts []string
		for r, n := range counts {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
		sort.Strings(parts)
		if len(parts) > 0 {
			fmt.Fprintf(&b, " %s.", strings.Join(parts, ", "))
		}
	}
	fmt.Fprintf(&b, " preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling.", numNodes, numNodes)
	return b.String()
}
