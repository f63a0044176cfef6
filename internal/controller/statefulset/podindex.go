package statefulset

import (
	"fmt"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// PodsByController is the name of the pod index IndexPodByController
// computes: a controlled pod under its controller's UID, an orphan under
// orphanKey(namespace). A set's sync reads its own pods and the orphans it
// may adopt through it, so its cost does not grow with the other pods of
// the namespace (upstream's ReplicaSet controller indexes pods alike).
const PodsByController = "petset.io/pods-by-controller"

// IndexPodByController is the index function of PodsByController.
func IndexPodByController(obj any) ([]string, error) { return indexByController[*v1.Pod](obj) }

// RevisionsByController is the ControllerRevision index
// IndexRevisionByController computes, keyed as PodsByController: a set's
// sync reads its own revisions and the orphans of its namespace, not every
// revision of the namespace (with one revision per set, that read grew
// with the number of sets).
const RevisionsByController = "petset.io/revisions-by-controller"

// IndexRevisionByController is the index function of RevisionsByController.
func IndexRevisionByController(obj any) ([]string, error) {
	return indexByController[*apps.ControllerRevision](obj)
}

// indexByController indexes an object of type T under its controller's UID,
// or under orphanKey(namespace) when it has none; an object of another type
// is not indexed.
func indexByController[T metav1.Object](obj any) ([]string, error) {
	o, ok := obj.(T)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return []string{orphanKey(o.GetNamespace())}, nil
}

// orphanKey is the index key of a namespace's objects (pods, revisions)
// without a controller; a UID never contains "/".
func orphanKey(namespace string) string { return "orphan/" + namespace }

// podsOf returns the pods set controls and the orphans of its namespace:
// every pod claimPods may keep, adopt or release.
func podsOf(pods cache.Indexer, set *apps.StatefulSet) ([]*v1.Pod, error) {
	var out []*v1.Pod
	for _, key := range []string{string(set.UID), orphanKey(set.Namespace)} {
		objs, err := pods.ByIndex(PodsByController, key)
		if err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		for _, o := range objs {
			// A UID is unique cluster-wide, but a pod in another namespace
			// naming this set as its controller is not the set's (owner
			// references never cross namespaces).
			if pod, ok := o.(*v1.Pod); ok && pod.Namespace == set.Namespace {
				out = append(out, pod)
			}
		}
	}
	return out, nil
}
