package scheduler

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"
)

// nodeInfo is one node and the pods placed on it, as one scheduling
// attempt sees them. Attempts share nodeInfos (see podCache): they are not
// modified once built.
type nodeInfo struct {
	node *v1.Node
	pods []*v1.Pod
	// withAffinity are the pods with pod affinity or anti-affinity
	// terms, withRequiredAnti those with required anti-affinity terms.
	withAffinity, withRequiredAnti []*v1.Pod
	// owned counts the pods by controller (for spreading).
	owned map[ownerRef]int
	// requested sums the requests of pods; nonZero does the same with
	// upstream's defaults for pods that request no cpu or memory (scoring).
	requested v1.ResourceList
	nonZero   v1.ResourceList
}

// ownerRef is a pod's controller: its namespace and UID.
type ownerRef struct {
	namespace string
	uid       types.UID
}

type snapshot struct {
	nodes []*nodeInfo // sorted by name
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
// informer shows bound (and not finished), plus pods this scheduler bound
// (assumed) or holds a node for while their volumes bind (reserved), except
// the pod being scheduled (self). It costs O(nodes): the pods are kept per
// node by the cache (cache.go).
func (s *Scheduler) snapshot(self string) (*snapshot, error) {
	snap := &snapshot{nodes: s.cache.snapshot(self)}
	snap.nsLabels = func(name string) labels.Set {
		ns, err := s.namespaces.Get(name)
		if err != nil {
			return nil
		}
		return ns.Labels
	}
	return snap, nil
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
