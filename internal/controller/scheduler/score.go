package scheduler

import (
	"math/rand/v2"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

const maxNodeScore = 100

// Plugin weights of upstream's default profile.
const (
	weightNodeAffinity   = 2
	weightInterPod       = 2
	weightSpread         = 2
	weightTaint          = 3
	weightLeastRequested = 1
)

type scored struct {
	ni    *nodeInfo
	score int64
}

// score ranks the feasible nodes for pod; higher is better.
func score(pod *v1.Pod, snap *snapshot, feasible []*nodeInfo) []scored {
	n := len(feasible)
	total := make([]int64, n)
	add := func(weight int64, raw []int64, reverse bool) {
		for i, v := range normalize(raw, reverse) {
			total[i] += weight * v
		}
	}

	// Preferred node affinity.
	if pod.Spec.Affinity != nil && pod.Spec.Affinity.NodeAffinity != nil {
		if terms, err := nodeaffinity.NewPreferredSchedulingTerms(pod.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution); err == nil {
			raw := make([]int64, n)
			for i, ni := range feasible {
				raw[i] = terms.Score(ni.node)
			}
			add(weightNodeAffinity, raw, false)
		}
	}

	// PreferNoSchedule taints: fewer untolerated is better.
	raw := make([]int64, n)
	for i, ni := range feasible {
		for _, t := range ni.node.Spec.Taints {
			if t.Effect == v1.TaintEffectPreferNoSchedule &&
				!corev1helpers.TolerationsTolerateTaint(logr.Discard(), pod.Spec.Tolerations, &t, true) {
				raw[i]++
			}
		}
	}
	add(weightTaint, raw, true)

	// Preferred inter-pod affinity, both ways.
	add(weightInterPod, interPodScores(pod, snap, feasible), false)

	// Spread pods of the same owner: fewer siblings is better.
	if owner := metav1.GetControllerOf(pod); owner != nil {
		raw := make([]int64, n)
		for i, ni := range feasible {
			raw[i] = int64(ni.owned[ownerRef{pod.Namespace, owner.UID}])
		}
		add(weightSpread, raw, true)
	}

	// Least requested cpu and memory.
	cpu, mem := nonZeroRequests(podRequests(pod))
	lr := make([]int64, n)
	for i, ni := range feasible {
		alloc := ni.node.Status.Allocatable
		usedCPU := ni.nonZero[v1.ResourceCPU]
		usedMem := ni.nonZero[v1.ResourceMemory]
		allocCPU := alloc[v1.ResourceCPU]
		allocMem := alloc[v1.ResourceMemory]
		lr[i] = (leastRequested(usedCPU.MilliValue()+cpu, allocCPU.MilliValue()) +
			leastRequested(usedMem.Value()+mem, allocMem.Value())) / 2
	}
	for i := range total {
		total[i] += weightLeastRequested * lr[i]
	}

	out := make([]scored, n)
	for i, ni := range feasible {
		out[i] = scored{ni: ni, score: total[i]}
	}
	return out
}

func leastRequested(requested, capacity int64) int64 {
	if capacity <= 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * maxNodeScore / capacity
}

// normalize maps raw onto 0..maxNodeScore; reverse makes the smallest raw
// value the best.
func normalize(raw []int64, reverse bool) []int64 {
	out := make([]int64, len(raw))
	if len(raw) == 0 {
		return out
	}
	lo, hi := raw[0], raw[0]
	for _, v := range raw {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	for i, v := range raw {
		if hi == lo {
			out[i] = maxNodeScore
			if !reverse && hi == 0 {
				out[i] = 0
			}
			continue
		}
		s := (v - lo) * maxNodeScore / (hi - lo)
		if reverse {
			s = maxNodeScore - s
		}
		out[i] = s
	}
	return out
}

// interPodScores sums, per feasible node, the weights of preferred pod
// affinity terms (positive) and anti-affinity terms (negative) of the
// incoming pod matched by pods in the node's topology domain, and the same
// for existing pods' preferred terms that match the incoming pod.
func interPodScores(pod *v1.Pod, snap *snapshot, feasible []*nodeInfo) []int64 {
	raw := make([]int64, len(feasible))
	var aff, anti []v1.WeightedPodAffinityTerm
	if a := pod.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			aff = a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		}
		if a.PodAntiAffinity != nil {
			anti = a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		}
	}
	for _, ni := range snap.nodes {
		pods := ni.pods
		if len(aff) == 0 && len(anti) == 0 {
			pods = ni.withAffinity // only the existing pods' terms can apply
		}
		for _, p := range pods {
			var pAff, pAnti []v1.WeightedPodAffinityTerm
			if a := p.Spec.Affinity; a != nil {
				if a.PodAffinity != nil {
					pAff = a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
				}
				if a.PodAntiAffinity != nil {
					pAnti = a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
				}
			}
			apply := func(terms []v1.WeightedPodAffinityTerm, sign int64, owner, target *v1.Pod) {
				for _, wt := range terms {
					if !termMatches(&wt.PodAffinityTerm, owner, target, snap.nsLabels) {
						continue
					}
					for i, cand := range feasible {
						if sameTopology(ni.node, cand.node, wt.PodAffinityTerm.TopologyKey) {
							raw[i] += sign * int64(wt.Weight)
						}
					}
				}
			}
			apply(aff, 1, pod, p)
			apply(anti, -1, pod, p)
			apply(pAff, 1, p, pod)
			apply(pAnti, -1, p, pod)
		}
	}
	return raw
}

// pickBest returns the highest-scored node, choosing at random among ties.
func pickBest(list []scored) *nodeInfo {
	var best *nodeInfo
	var bestScore int64
	ties := 0
	for _, s := range list {
		switch {
		case best == nil || s.score > bestScore:
			best, bestScore, ties = s.ni, s.score, 1
		case s.score == bestScore:
			ties++
			if rand.IntN(ties) == 0 {
				best = s.ni
			}
		}
	}
	return best
}
