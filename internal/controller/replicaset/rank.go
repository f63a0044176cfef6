package replicaset

import (
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/util/podutils"
)

// deletionCostAnnotation orders a ReplicaSet's pods for deletion: lower
// cost first (kube's PodDeletionCost).
const deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// phaseOrder puts Pending before Unknown before Running.
var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// podsToDelete picks n of pods to delete, in kube's order. related are the
// active pods of every ReplicaSet of the same owner: a pod on a node with
// more of them goes first.
func podsToDelete(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	onNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" {
			onNode[p.Spec.NodeName]++
		}
	}
	ranked := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(ranked, func(i, j int) bool {
		return deleteFirst(ranked[i], ranked[j], onNode[ranked[i].Spec.NodeName], onNode[ranked[j].Spec.NodeName], now)
	})
	return ranked[:n]
}

// deleteFirst reports whether a should be deleted before b.
func deleteFirst(a, b *corev1.Pod, rankA, rankB int, now time.Time) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrder[a.Status.Phase], phaseOrder[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	readyA, readyB := podutils.IsPodReady(a), podutils.IsPodReady(b)
	if readyA != readyB {
		return !readyA
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if rankA != rankB {
		return rankA > rankB
	}
	if readyA && readyB {
		if ta, tb := readySince(a), readySince(b); !ta.Equal(tb) {
			if less, decided := newerFirst(ta, tb, a, b, now); decided {
				return less
			}
		}
	}
	if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
		return ra > rb
	}
	if ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time; !ta.Equal(tb) {
		if less, decided := newerFirst(ta, tb, a, b, now); decided {
			return less
		}
	}
	return false
}

// newerFirst orders two different times: a zero time first, then the
// newer on a log2 scale of their ages, the pods' UIDs breaking a tie.
func newerFirst(ta, tb time.Time, a, b *corev1.Pod, now time.Time) (bool, bool) {
	if ta.IsZero() || tb.IsZero() {
		return ta.IsZero(), true
	}
	if d := ageRank(ta, now) - ageRank(tb, now); d != 0 {
		return d < 0, true
	}
	return a.UID < b.UID, true
}

// ageRank is the base-2 logarithm of t's age, -1 for none.
func ageRank(t, now time.Time) int64 {
	if d := now.Sub(t); d > 0 {
		return int64(math.Log2(float64(d)))
	}
	return -1
}

func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[deletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// readySince is when the pod's Ready condition last became True.
func readySince(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func maxRestarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

// isAvailable is a pod Ready for minReadySeconds at now.
func isAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return podutils.IsPodAvailable(p, minReadySeconds, metav1.NewTime(now))
}
