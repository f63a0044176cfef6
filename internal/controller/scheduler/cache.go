package scheduler

import (
	"maps"
	"sort"
	"sync"

	v1 "k8s.io/api/core/v1"
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
// no special case. Per node it keeps the pods that count on it (bound, not
// Succeeded or Failed, terminating or not) and their summed requests; pods
// bound to a node the cache does not know (yet) are kept until it appears.
//
// For every node the cache builds, on demand, an immutable nodeInfo that
// attempts share until the node or its pods change; snapshot then costs one
// pointer per node, plus a copy of the nodes that changed since the last
// attempt and of the nodes the attempt's assumed and reserved pods go to.
type podCache struct {
	mu    sync.Mutex
	pods  map[string]*cachedPod // every pod of the informer, by namespace/name
	nodes map[string]*nodeState // nodes that exist or have pods counting on them
	names []string              // sorted names of the nodes that exist
}

type cachedPod struct {
	pod *v1.Pod
	// node is the node the pod counts on, "" if none.
	node string
	req  v1.ResourceList
}

type nodeState struct {
	node      *v1.Node // nil: not (or no longer) known to the informer
	pods      map[string]*cachedPod
	requested v1.ResourceList
	nonZero   v1.ResourceList
	// view is the immutable nodeInfo of the current state, nil when it
	// must be rebuilt.
	view *nodeInfo
}

func newPodCache() *podCache {
	return &podCache{pods: map[string]*cachedPod{}, nodes: map[string]*nodeState{}}
}

// countsOnNode reports whether an informer pod takes room on its node: it is
// bound and has not finished. Terminating pods still count.
func countsOnNode(p *v1.Pod) bool {
	return p.Spec.NodeName != "" && p.Status.Phase != v1.PodSucceeded && p.Status.Phase != v1.PodFailed
}

// setPod records pod as the informer's current object for its key.
func (c *podCache) setPod(pod *v1.Pod) {
	key := podKey(pod)
	cp := &cachedPod{pod: pod}
	if countsOnNode(pod) {
		cp.node = pod.Spec.NodeName
		cp.req = podRequests(pod)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.pods[key]; old != nil && old.node != "" {
		c.unplace(key, old)
	}
	c.pods[key] = cp
	if cp.node != "" {
		c.place(key, cp)
	}
}

// deletePod forgets the pod of a delete event (a *v1.Pod or a tombstone).
func (c *podCache) deletePod(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj) // namespace/name, as podKey
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.pods[key]
	if old == nil {
		return
	}
	delete(c.pods, key)
	if old.node != "" {
		c.unplace(key, old)
	}
}

// pod returns the informer's object for key as the cache last saw it, or nil.
func (c *podCache) pod(key string) *v1.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp := c.pods[key]; cp != nil {
		return cp.pod
	}
	return nil
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
	addRequests(ns.requested, ns.nonZero, cp.req, 1)
	ns.view = nil
}

func (c *podCache) unplace(key string, cp *cachedPod) {
	ns := c.nodes[cp.node]
	if ns == nil || ns.pods[key] != cp {
		return
	}
	delete(ns.pods, key)
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

// snapshot returns the nodes, sorted by name, with the pods counting on them
// plus those of placed (assumed and reserved pods, by key) whose informer
// object is still the same pod, unbound and not terminating. The nodeInfos
// may be shared with other attempts and must not be modified.
func (c *podCache) snapshot(placed map[string]*v1.Pod) []*nodeInfo {
	c.mu.Lock()
	nodes := make([]*nodeInfo, len(c.names))
	for i, name := range c.names {
		ns := c.nodes[name]
		if ns.view == nil {
			ns.view = ns.build()
		}
		nodes[i] = ns.view
	}
	var extra []*v1.Pod
	for key, a := range placed {
		cp := c.pods[key]
		if cp == nil || cp.pod.UID != a.UID || cp.pod.Spec.NodeName != "" || cp.pod.DeletionTimestamp != nil {
			continue
		}
		extra = append(extra, a)
	}
	c.mu.Unlock()

	var copied map[int]bool
	for _, a := range extra {
		if a.Status.Phase == v1.PodSucceeded || a.Status.Phase == v1.PodFailed {
			continue
		}
		name := a.Spec.NodeName
		i := sort.Search(len(nodes), func(i int) bool { return nodes[i].node.Name >= name })
		if i == len(nodes) || nodes[i].node.Name != name {
			continue
		}
		if !copied[i] {
			if copied == nil {
				copied = map[int]bool{}
			}
			copied[i] = true
			nodes[i] = nodes[i].clone()
		}
		nodes[i].addPod(a)
	}
	return nodes
}

func (ns *nodeState) build() *nodeInfo {
	ni := &nodeInfo{
		node:      ns.node,
		pods:      make([]*v1.Pod, 0, len(ns.pods)),
		requested: ns.requested.DeepCopy(),
		nonZero:   ns.nonZero.DeepCopy(),
	}
	for _, cp := range ns.pods {
		ni.pods = append(ni.pods, cp.pod)
		ni.notePod(cp.pod)
	}
	return ni
}

func (ni *nodeInfo) clone() *nodeInfo {
	return &nodeInfo{
		node:             ni.node,
		pods:             append([]*v1.Pod(nil), ni.pods...),
		withAffinity:     append([]*v1.Pod(nil), ni.withAffinity...),
		withRequiredAnti: append([]*v1.Pod(nil), ni.withRequiredAnti...),
		requested:        ni.requested.DeepCopy(),
		nonZero:          ni.nonZero.DeepCopy(),
		owned:            maps.Clone(ni.owned),
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
