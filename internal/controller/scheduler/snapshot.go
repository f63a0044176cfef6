package scheduler

import (
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	resourcehelper "k8s.io/component-helpers/resource"
)

// nodeInfo is one node and the pods placed on it, as one scheduling
// attempt sees them.
type nodeInfo struct {
	node *v1.Node
	pods []*v1.Pod
	// requested sums the requests of pods; nonZero does the same with
	// upstream's defaults for pods that request no cpu or memory (scoring).
	requested v1.ResourceList
	nonZero   v1.ResourceList
}

type snapshot struct {
	nodes  []*nodeInfo // sorted by name
	byName map[string]*nodeInfo
	// nsLabels returns a namespace's labels (for namespaceSelector).
	nsLabels func(string) labels.Set
}

// Defaults used for scoring pods that request no cpu or memory
// (upstream's DefaultMilliCPURequest and DefaultMemoryRequest).
const (
	defaultMilliCPU = 100
	defaultMemory   = 200 * 1024 * 1024
)

// snapshot returns the cluster as the next decision must see it: pods the
// informer shows bound, plus pods this scheduler bound (assumed) or holds a
// node for while their volumes bind (reserved), except the pod being
// scheduled (self).
func (s *Scheduler) snapshot(self string) (*snapshot, error) {
	nodes, err := s.nodes.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	snap := &snapshot{byName: map[string]*nodeInfo{}}
	snap.nsLabels = func(name string) labels.Set {
		ns, err := s.namespaces.Get(name)
		if err != nil {
			return nil
		}
		return ns.Labels
	}
	for _, n := range nodes {
		ni := &nodeInfo{node: n, requested: v1.ResourceList{}, nonZero: v1.ResourceList{}}
		snap.nodes = append(snap.nodes, ni)
		snap.byName[n.Name] = ni
	}
	sort.Slice(snap.nodes, func(i, j int) bool { return snap.nodes[i].node.Name < snap.nodes[j].node.Name })

	s.mu.Lock()
	placed := make(map[string]*v1.Pod, len(s.assumed)+len(s.reserved))
	for k, p := range s.reserved {
		placed[k] = p
	}
	for k, p := range s.assumed {
		placed[k] = p
	}
	s.mu.Unlock()
	delete(placed, self)
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			if a, ok := placed[podKey(p)]; ok && a.UID == p.UID && p.DeletionTimestamp == nil {
				p = a
			} else {
				continue
			}
		}
		if p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			continue
		}
		ni, ok := snap.byName[p.Spec.NodeName]
		if !ok {
			continue
		}
		ni.addPod(p)
	}
	return snap, nil
}

func (ni *nodeInfo) addPod(p *v1.Pod) {
	ni.pods = append(ni.pods, p)
	req := podRequests(p)
	for name, q := range req {
		cur := ni.requested[name]
		cur.Add(q)
		ni.requested[name] = cur
	}
	cpu, mem := nonZeroRequests(req)
	addMilli(ni.nonZero, v1.ResourceCPU, cpu)
	addValue(ni.nonZero, v1.ResourceMemory, mem)
}

func podRequests(p *v1.Pod) v1.ResourceList {
	return resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
}

func nonZeroRequests(req v1.ResourceList) (milliCPU, memory int64) {
	milliCPU, memory = defaultMilliCPU, defaultMemory
	if q, ok := req[v1.ResourceCPU]; ok && !q.IsZero() {
		milliCPU = q.MilliValue()
	}
	if q, ok := req[v1.ResourceMemory]; ok && !q.IsZero() {
		memory = q.Value()
	}
	return milliCPU, memory
}

func addMilli(l v1.ResourceList, name v1.ResourceName, milli int64) {
	q := l[name]
	q.Add(*resource.NewMilliQuantity(milli, resource.DecimalSI))
	l[name] = q
}

func addValue(l v1.ResourceList, name v1.ResourceName, v int64) {
	q := l[name]
	q.Add(*resource.NewQuantity(v, resource.BinarySI))
	l[name] = q
}
