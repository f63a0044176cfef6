package scheduler

import (
	"maps"
	"sort"
	"sync"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// podCache is the scheduler's view of the cluster, kept up to date by the
// pod and node informers' event handlers (as upstream's scheduler cache is),
// so that a scheduling attempt costs O(nodes), not O(pods).
//
// It mirrors the informers' stores, keyed the same way (namespace/name for
// pods, name for nodes): an update replaces what the cache holds for the key
// whatever the event's old object says, so stale old objects, a changed UID
// (a pod deleted and recreated while the watch was down) and tombstones need
// no special case. The scheduler also tells it its assumed and reserved pods.
// Per key at most one pod counts on a node (countedPod); per node the cache
// keeps those pods and their summed requests. Pods counting on a node the
// cache does not know (yet) are kept until it appears.
//
// For every node the cache builds, on demand, an immutable nodeInfo that
// attempts share until the node or its pods change; a snapshot costs one
// pointer per node, plus a copy of the nodes that changed since the last
// attempt.
type podCache struct {
	mu       sync.Mutex
	pods     map[string]*v1.Pod    // the informer's pods, by namespace/name
	assumed  map[string]*v1.Pod    // the scheduler's assumed pods
	reserved map[string]*v1.Pod    // the scheduler's reserved pods
	counted  map[string]*cachedPod // by key, the pod that counts on a node
	nodes    map[string]*nodeState // nodes that exist or have pods counting on them
	names    []string              // sorted names of the nodes that exist
}

type cachedPod struct {
	pod  *v1.Pod
	node string
	req  v1.ResourceList
	// placed: pod is the scheduler's assumed or reserved pod, not the
	// informer's object.
	placed bool
	// What a nodeInfo indexes the pod by, worked out once per pod object:
	// its controller (owned; nil without one), whether it has pod
	// (anti-)affinity terms and required anti-affinity terms.
	owner                  *ownerRef
	affinity, requiredAnti bool
	// at is the pod's index in its nodeState's list.
	at int
}

type nodeState struct {
	node *v1.Node // nil: not (or no longer) known to the informer
	pods map[string]*cachedPod
	// list holds the same pods as pods, in no order, so that a view
	// copies a slice; owned is kept as pods come and go, so that a view
	// copies it rather than looking at every pod's controller (a node's
	// view is rebuilt whenever one of its pods changes, hundreds of pods
	// each at W6's size).
	list      []*cachedPod
	owned     map[ownerRef]int
	requested v1.ResourceList
	nonZero   v1.ResourceList
	// view is the immutable nodeInfo of the current state, nil when it
	// must be rebuilt.
	view *nodeInfo
}

func newPodCache() *podCache {
	return &podCache{
		pods:     map[string]*v1.Pod{},
		assumed:  map[string]*v1.Pod{},
		reserved: map[string]*v1.Pod{},
		counted:  map[string]*cachedPod{},
		nodes:    map[string]*nodeState{},
	}
}

// countedPod returns the pod of key that takes room on a node, if any: the
// informer's pod when it is bound and has not finished (terminating pods
// count); else the scheduler's assumed (or else reserved) pod while the
// informer shows the same pod unbound and not terminating, unless it
// finished.
func (c *podCache) countedPod(key string) (pod *v1.Pod, placed bool) {
	p := c.pods[key]
	if p == nil {
		return nil, false
	}
	if p.Spec.NodeName != "" {
		if finished(p) {
			return nil, false
		}
		return p, false
	}
	a := c.assumed[key]
	if a == nil {
		a = c.reserved[key]
	}
	if a == nil || a.UID != p.UID || p.DeletionTimestamp != nil || finished(a) {
		return nil, false
	}
	return a, true
}

func finished(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// recount moves key's pod to where countedPod says it counts now.
func (c *podCache) recount(key string) {
	pod, placed := c.countedPod(key)
	old := c.counted[key]
	if old != nil && old.pod == pod {
		return
	}
	if old != nil {
		delete(c.counted, key)
		c.unplace(key, old)
	}
	if pod == nil {
		return
	}
	cp := &cachedPod{pod: pod, node: pod.Spec.NodeName, req: podRequests(pod), placed: placed}
	if o := metav1.GetControllerOf(pod); o != nil {
		cp.owner = &ownerRef{pod.Namespace, o.UID}
	}
	if a := pod.Spec.Affinity; a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil) {
		cp.affinity = true
		cp.requiredAnti = len(requiredAntiAffinityTerms(pod)) > 0
	}
	c.counted[key] = cp
	c.place(key, cp)
}

// setPod records pod as the informer's current object for its key.
func (c *podCache) setPod(pod *v1.Pod) {
	key := podKey(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pods[key] = pod
	c.recount(key)
}

// deletePod forgets the pod of a delete event (a *v1.Pod or a tombstone).
func (c *podCache) deletePod(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj) // namespace/name, as podKey
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pods, key)
	c.recount(key)
}

// assume records the pod of key the scheduler bound (spec.nodeName set),
// or forgets it (pod nil).
func (c *podCache) assume(key string, pod *v1.Pod) { c.setPlaced(c.assumed, key, pod) }

// reserve records the pod of key that holds a node while its volumes bind
// (spec.nodeName set), or forgets it (pod nil).
func (c *podCache) reserve(key string, pod *v1.Pod) { c.setPlaced(c.reserved, key, pod) }

func (c *podCache) setPlaced(m map[string]*v1.Pod, key string, pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	setOrDelete(m, key, pod)
	c.recount(key)
}

// setOrDelete sets m[key] to pod, or deletes key if pod is nil.
func setOrDelete(m map[string]*v1.Pod, key string, pod *v1.Pod) {
	if pod == nil {
		delete(m, key)
	} else {
		m[key] = pod
	}
}

// pod returns the informer's object for key as the cache last saw it, or nil.
func (c *podCache) pod(key string) *v1.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[key]
}

func (c *podCache) state(name string) *nodeState {
	ns := c.nodes[name]
	if ns == nil {
		ns = &nodeState{pods: map[string]*cachedPod{}, requested: v1.ResourceList{}, nonZero: v1.ResourceList{}}
		c.nodes[name] = ns
	}
	return ns
}

func (c *podCache) place(key string, cp *cachedPod) {
	ns := c.state(cp.node)
	ns.pods[key] = cp
	cp.at = len(ns.list)
	ns.list = append(ns.list, cp)
	if cp.owner != nil {
		if ns.owned == nil {
			ns.owned = map[ownerRef]int{}
		}
		ns.owned[*cp.owner]++
	}
	addRequests(ns.requested, ns.nonZero, cp.req, 1)
	ns.view = nil
}

func (c *podCache) unplace(key string, cp *cachedPod) {
	ns := c.nodes[cp.node]
	if ns == nil || ns.pods[key] != cp {
		return
	}
	delete(ns.pods, key)
	last := len(ns.list) - 1
	ns.list[cp.at] = ns.list[last]
	ns.list[cp.at].at = cp.at
	ns.list[last] = nil
	ns.list = ns.list[:last]
	if cp.owner != nil {
		uncount(ns.owned, *cp.owner)
	}
	ns.view = nil
	if len(ns.pods) == 0 {
		// Start the sums afresh rather than keep zeroes.
		ns.requested, ns.nonZero = v1.ResourceList{}, v1.ResourceList{}
		if ns.node == nil {
			delete(c.nodes, cp.node)
		}
		return
	}
	addRequests(ns.requested, ns.nonZero, cp.req, -1)
}

// setNode records node as the informer's current object for its name.
func (c *podCache) setNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := c.state(node.Name)
	if ns.node == nil {
		i := sort.SearchStrings(c.names, node.Name)
		c.names = append(c.names, "")
		copy(c.names[i+1:], c.names[i:])
		c.names[i] = node.Name
	}
	ns.node = node
	ns.view = nil
}

// deleteNode forgets the node of a delete event (a *v1.Node or a
// tombstone); pods still bound to it are kept for when it comes back.
func (c *podCache) deleteNode(obj any) {
	name, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := c.nodes[name]
	if ns == nil || ns.node == nil {
		return
	}
	if i := sort.SearchStrings(c.names, name); i < len(c.names) && c.names[i] == name {
		c.names = append(c.names[:i], c.names[i+1:]...)
	}
	ns.node = nil
	ns.view = nil
	if len(ns.pods) == 0 {
		delete(c.nodes, name)
	}
}

// snapshot returns the nodes, sorted by name, with the pods counting on
// them, except the assumed or reserved pod of self (the pod being scheduled;
// the informer's pod of self counts if it is bound). The nodeInfos may be
// shared with other attempts and must not be modified.
func (c *podCache) snapshot(self string) []*nodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes := make([]*nodeInfo, len(c.names))
	for i, name := range c.names {
		ns := c.nodes[name]
		if ns.view == nil {
			ns.view = ns.build("")
		}
		nodes[i] = ns.view
	}
	if cp := c.counted[self]; cp != nil && cp.placed {
		if i := sort.SearchStrings(c.names, cp.node); i < len(c.names) && c.names[i] == cp.node {
			nodes[i] = c.nodes[cp.node].build(self)
		}
	}
	return nodes
}

// build returns the nodeInfo of ns, without the pod of key skip: copies of
// what ns keeps, so O(pods on the node) pointer copies and no look at the
// pods themselves.
func (ns *nodeState) build(skip string) *nodeInfo {
	ni := &nodeInfo{
		node:      ns.node,
		pods:      make([]*v1.Pod, 0, len(ns.list)),
		requested: ns.requested.DeepCopy(),
		nonZero:   ns.nonZero.DeepCopy(),
	}
	if len(ns.owned) > 0 {
		ni.owned = maps.Clone(ns.owned)
	}
	skipped := ns.pods[skip] // nil when skip has no pod here
	for _, cp := range ns.list {
		if cp == skipped {
			addRequests(ni.requested, ni.nonZero, cp.req, -1)
			if cp.owner != nil {
				uncount(ni.owned, *cp.owner)
			}
			continue
		}
		ni.pods = append(ni.pods, cp.pod)
		if cp.affinity {
			ni.withAffinity = append(ni.withAffinity, cp.pod)
			if cp.requiredAnti {
				ni.withRequiredAnti = append(ni.withRequiredAnti, cp.pod)
			}
		}
	}
	return ni
}

// uncount takes one pod of owner off the counts.
func uncount(owned map[ownerRef]int, owner ownerRef) {
	if owned[owner] <= 1 {
		delete(owned, owner)
	} else {
		owned[owner]--
	}
}

// addRequests adds (sign 1) or subtracts (sign -1) the requests req of one
// pod to the sums requested and nonZero.
func addRequests(requested, nonZero, req v1.ResourceList, sign int) {
	for name, q := range req {
		cur := requested[name].DeepCopy()
		if sign > 0 {
			cur.Add(q)
		} else {
			cur.Sub(q)
		}
		requested[name] = cur
	}
	cpu, mem := nonZeroRequests(req)
	if sign < 0 {
		cpu, mem = -cpu, -mem
	}
	addMilli(nonZero, v1.ResourceCPU, cpu)
	addValue(nonZero, v1.ResourceMemory, mem)
}
