package scheduler

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

var cacheSeed = flag.Uint64("cache-seed", 0, "seed of TestCacheMatchesRebuild (0: a random one)")

// rebuild is the snapshot as it was computed before the cache, from the
// informers' complete lists: the reference the cache must agree with.
func rebuild(nodes []*v1.Node, pods []*v1.Pod, placed map[string]*v1.Pod, self string) []*nodeInfo {
	byName := map[string]*nodeInfo{}
	var out []*nodeInfo
	for _, n := range nodes {
		ni := &nodeInfo{node: n, requested: v1.ResourceList{}, nonZero: v1.ResourceList{}}
		out = append(out, ni)
		byName[n.Name] = ni
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node.Name < out[j].node.Name })
	others := map[string]*v1.Pod{}
	for k, p := range placed {
		if k != self {
			others[k] = p
		}
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			if a, ok := others[podKey(p)]; ok && a.UID == p.UID && p.DeletionTimestamp == nil {
				p = a
			} else {
				continue
			}
		}
		if p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			continue
		}
		if ni, ok := byName[p.Spec.NodeName]; ok {
			ni.addPod(p)
		}
	}
	return out
}

// notePod records p in the indexes of ni (by affinity, by controller),
// from the pod itself: the oracle the cache's kept indexes are checked
// against.
func (ni *nodeInfo) notePod(p *v1.Pod) {
	if o := metav1.GetControllerOf(p); o != nil {
		if ni.owned == nil {
			ni.owned = map[ownerRef]int{}
		}
		ni.owned[ownerRef{p.Namespace, o.UID}]++
	}
	a := p.Spec.Affinity
	if a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return
	}
	ni.withAffinity = append(ni.withAffinity, p)
	if len(requiredAntiAffinityTerms(p)) > 0 {
		ni.withRequiredAnti = append(ni.withRequiredAnti, p)
	}
}

// addPod adds p to ni (as the snapshot did before the cache).
func (ni *nodeInfo) addPod(p *v1.Pod) {
	ni.pods = append(ni.pods, p)
	ni.notePod(p)
	addRequests(ni.requested, ni.nonZero, podRequests(p), 1)
}

// sameNodeInfos returns how got differs from want, or "".
func sameNodeInfos(got, want []*nodeInfo) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d nodes, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.node != w.node {
			return fmt.Sprintf("node %d is %s, want %s", i, g.node.Name, w.node.Name)
		}
		name := w.node.Name
		if d := samePods(g.pods, w.pods); d != "" {
			return name + " pods: " + d
		}
		if d := samePods(g.withAffinity, w.withAffinity); d != "" {
			return name + " withAffinity: " + d
		}
		if d := samePods(g.withRequiredAnti, w.withRequiredAnti); d != "" {
			return name + " withRequiredAnti: " + d
		}
		if !maps.Equal(g.owned, w.owned) {
			return fmt.Sprintf("%s owned: %v, want %v", name, g.owned, w.owned)
		}
		if d := sameResources(g.requested, w.requested); d != "" {
			return name + " requested: " + d
		}
		if d := sameResources(g.nonZero, w.nonZero); d != "" {
			return name + " nonZero: " + d
		}
	}
	return ""
}

func samePods(got, want []*v1.Pod) string {
	count := map[*v1.Pod]int{}
	for _, p := range got {
		count[p]++
	}
	for _, p := range want {
		count[p]--
	}
	for p, n := range count {
		if n != 0 {
			return fmt.Sprintf("%s (uid %s, node %q) %+d times", podKey(p), p.UID, p.Spec.NodeName, n)
		}
	}
	return ""
}

// sameResources compares amounts, a missing name being zero.
func sameResources(got, want v1.ResourceList) string {
	for _, l := range []v1.ResourceList{got, want} {
		for name := range l {
			g, w := got[name], want[name]
			if g.Cmp(w) != 0 {
				return fmt.Sprintf("%s is %s, want %s", name, g.String(), w.String())
			}
		}
	}
	return ""
}

// TestCacheMatchesRebuild applies random informer events (adds, updates
// that rebind, finish, terminate or recreate pods, deletes and tombstones of
// pods and nodes) and random assumed/reserved pods, and after each compares
// the cache's snapshot with one rebuilt from the full lists. Replay a failure
// with -cache-seed.
func TestCacheMatchesRebuild(t *testing.T) {
	seed := *cacheSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay: go test -run TestCacheMatchesRebuild ./internal/controller/scheduler/ -args -cache-seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	c := newPodCache()
	pods := map[string]*v1.Pod{}   // the informer's store
	nodes := map[string]*v1.Node{} // the informer's store
	assumed := map[string]*v1.Pod{}
	reserved := map[string]*v1.Pod{}
	nodeNames := []string{"", "n0", "n1", "n2", "n3", "n4"}
	uid := 0
	newUID := func() types.UID { uid++; return types.UID(fmt.Sprint("u", uid)) }
	randomPod := func(name string) *v1.Pod {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		if rng.IntN(3) != 0 {
			yes := rng.IntN(4) != 0
			p.OwnerReferences = []metav1.OwnerReference{{Name: "set", UID: types.UID(fmt.Sprint("set", rng.IntN(3))), Controller: &yes}}
		}
		if old := pods["ns/"+name]; old != nil && rng.IntN(4) != 0 {
			p.UID = old.UID
		} else {
			p.UID = newUID()
		}
		p.Spec.NodeName = nodeNames[rng.IntN(len(nodeNames))]
		p.Status.Phase = []v1.PodPhase{v1.PodPending, v1.PodRunning, v1.PodSucceeded, v1.PodFailed, v1.PodRunning}[rng.IntN(5)]
		if rng.IntN(5) == 0 {
			ts := metav1.NewTime(time.Unix(1, 0))
			p.DeletionTimestamp = &ts
		}
		res := v1.ResourceList{}
		if rng.IntN(3) != 0 {
			res[v1.ResourceCPU] = *resource.NewMilliQuantity(int64(rng.IntN(4)*250), resource.DecimalSI)
		}
		if rng.IntN(3) != 0 {
			res[v1.ResourceMemory] = resource.MustParse([]string{"0", "64Mi", "1Gi", "1.5Gi", "100M"}[rng.IntN(5)])
		}
		if rng.IntN(4) == 0 {
			res[v1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}
		p.Spec.Containers = []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: res}}}
		term := v1.PodAffinityTerm{TopologyKey: "zone", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}}
		switch rng.IntN(4) {
		case 1:
			p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term}}}
		case 2:
			p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: term}}}}
		case 3:
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{}}
		}
		return p
	}

	for step := 0; step < 3000; step++ {
		name := fmt.Sprint("p", rng.IntN(25))
		key := "ns/" + name
		var what string
		switch op := rng.IntN(20); {
		case op < 9:
			p := randomPod(name)
			pods[key] = p
			c.setPod(p)
			what = fmt.Sprintf("set pod %s uid %s node %q phase %s deleting %v", key, p.UID, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil)
		case op < 11:
			old := pods[key]
			if old == nil {
				old = randomPod(name) // a delete of what the informer never had
			}
			delete(pods, key)
			if rng.IntN(2) == 0 {
				c.deletePod(old)
			} else {
				// A tombstone whose object may be stale.
				c.deletePod(cache.DeletedFinalStateUnknown{Key: key, Obj: randomPod(name)})
			}
			what = "delete pod " + key
		case op < 13:
			n := nodeNames[1+rng.IntN(len(nodeNames)-1)]
			node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, ResourceVersion: fmt.Sprint(step)}}
			nodes[n] = node
			c.setNode(node)
			what = "set node " + n
		case op < 14:
			n := nodeNames[1+rng.IntN(len(nodeNames)-1)]
			delete(nodes, n)
			if rng.IntN(2) == 0 {
				c.deleteNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}})
			} else {
				c.deleteNode(cache.DeletedFinalStateUnknown{Key: n})
			}
			what = "delete node " + n
		case op < 18:
			a := randomPod(name)
			a.Spec.NodeName = nodeNames[1+rng.IntN(len(nodeNames)-1)]
			if rng.IntN(2) == 0 {
				assumed[key] = a
				c.assume(key, a)
				what = "assume"
			} else {
				reserved[key] = a
				c.reserve(key, a)
				what = "reserve"
			}
			what += fmt.Sprintf(" %s uid %s on %s", key, a.UID, a.Spec.NodeName)
		case op < 19:
			delete(assumed, key)
			c.assume(key, nil)
			what = "forget assumed " + key
		default:
			delete(reserved, key)
			c.reserve(key, nil)
			what = "forget reserved " + key
		}

		self := fmt.Sprint("ns/p", rng.IntN(30))
		placed := maps.Clone(reserved)
		maps.Copy(placed, assumed)
		var nodeList []*v1.Node
		for _, n := range nodes {
			nodeList = append(nodeList, n)
		}
		var podList []*v1.Pod
		for _, p := range pods {
			podList = append(podList, p)
		}
		got := c.snapshot(self)
		if d := sameNodeInfos(got, rebuild(nodeList, podList, placed, self)); d != "" {
			t.Fatalf("step %d (%s), self %s: %s", step, what, self, d)
		}
	}
}

// TestCacheSnapshotsAreNotShared: leaving out the pod being scheduled does
// not change the nodeInfos other attempts share.
func TestCacheSnapshotsAreNotShared(t *testing.T) {
	c := newPodCache()
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	c.setNode(node)
	bound := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: "ua"}, Spec: v1.PodSpec{NodeName: "n1"}}
	c.setPod(bound)
	pending := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b", UID: "ub"}}
	c.setPod(pending)
	reserved := pending.DeepCopy()
	reserved.Spec.NodeName = "n1"
	c.reserve("ns/b", reserved)

	other := c.snapshot("ns/c")
	if len(other[0].pods) != 2 {
		t.Fatalf("with the reserved pod: %d pods on n1, want 2", len(other[0].pods))
	}
	self := c.snapshot("ns/b")
	if len(self[0].pods) != 1 || self[0].pods[0] != bound {
		t.Fatalf("for the reserved pod itself: pods %v, want only the bound pod", self[0].pods)
	}
	if again := c.snapshot("ns/c"); len(again[0].pods) != 2 || again[0] != other[0] {
		t.Fatalf("the shared view changed: %d pods", len(again[0].pods))
	}
}
