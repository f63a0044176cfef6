package scheduler

import (
	"time"

	v1 "k8s.io/api/core/v1"
)

// parkingLot holds the pods that wait for a cluster event instead of being
// tried again at once (kube-scheduler's unschedulable pods pool): pods that
// fit no node, with the end of their back-off, and pods that hold a node
// while their claims bind. It indexes the claims of every parked pod both
// ways, so that a claim's change wakes only the pods that use it: with
// thousands of pods waiting for their claims, a scan of all of them per
// claim event made scheduling quadratic. It is guarded by Scheduler.mu.
type parkingLot struct {
	unschedulable map[string]time.Time
	holding       map[string]bool
	claimsOf      map[string][]string
	podsOf        map[string]map[string]bool
}

func newParkingLot() *parkingLot {
	return &parkingLot{
		unschedulable: map[string]time.Time{},
		holding:       map[string]bool{},
		claimsOf:      map[string][]string{},
		podsOf:        map[string]map[string]bool{},
	}
}

// park records the pod of key with its claims (namespace/name): as holding a
// node, or as unschedulable until its back-off ends.
func (l *parkingLot) park(key string, claims []string, holding bool, until time.Time) {
	l.remove(key)
	if holding {
		l.holding[key] = true
	} else {
		l.unschedulable[key] = until
	}
	if len(claims) == 0 {
		return
	}
	l.claimsOf[key] = claims
	for _, c := range claims {
		if l.podsOf[c] == nil {
			l.podsOf[c] = map[string]bool{}
		}
		l.podsOf[c][key] = true
	}
}

// remove forgets the pod of key; until is when its back-off ends (zero for
// a pod holding a node, or one not parked).
func (l *parkingLot) remove(key string) (until time.Time) {
	until = l.unschedulable[key]
	delete(l.unschedulable, key)
	delete(l.holding, key)
	for _, c := range l.claimsOf[key] {
		delete(l.podsOf[c], key)
		if len(l.podsOf[c]) == 0 {
			delete(l.podsOf, c)
		}
	}
	delete(l.claimsOf, key)
	return until
}

// len is how many pods are parked (for tests).
func (l *parkingLot) len() int { return len(l.unschedulable) + len(l.holding) }

// users are the parked pods that use the claim (namespace/name).
func (l *parkingLot) users(claim string) []string {
	keys := make([]string, 0, len(l.podsOf[claim]))
	for k := range l.podsOf[claim] {
		keys = append(keys, k)
	}
	return keys
}

// unschedulableKeys are the parked pods that hold no node.
func (l *parkingLot) unschedulableKeys() []string {
	keys := make([]string, 0, len(l.unschedulable))
	for k := range l.unschedulable {
		keys = append(keys, k)
	}
	return keys
}

// holdingKeys are the parked pods that hold a node.
func (l *parkingLot) holdingKeys() []string {
	keys := make([]string, 0, len(l.holding))
	for k := range l.holding {
		keys = append(keys, k)
	}
	return keys
}

// podClaims are the claims (namespace/name) pod's volumes use, directly or
// as ephemeral volumes.
func podClaims(pod *v1.Pod) []string {
	var claims []string
	for _, vol := range pod.Spec.Volumes {
		switch {
		case vol.PersistentVolumeClaim != nil:
			claims = append(claims, pod.Namespace+"/"+vol.PersistentVolumeClaim.ClaimName)
		case vol.Ephemeral != nil:
			claims = append(claims, pod.Namespace+"/"+pod.Name+"-"+vol.Name)
		}
	}
	return claims
}
