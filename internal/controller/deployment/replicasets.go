package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Annotations and the label kube's deployment controller writes.
const (
	revisionAnnotation        = "deployment.kubernetes.io/revision"
	revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	maxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	lastAppliedAnnotation     = "kubectl.kubernetes.io/last-applied-configuration"
	rollbackToAnnotation      = "deprecated.deployment.rollback.to"
	hashLabel                 = appsv1.DefaultDeploymentUniqueLabelKey
)

// templateHash is kube's pod-template-hash of template with collisionCount.
func templateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*template))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// equalIgnoreHash compares two templates without their pod-template-hash label.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, hashLabel)
	delete(b.Labels, hashLabel)
	return equality.Semantic.DeepEqual(a, b)
}

// byCreation sorts ReplicaSets oldest first, names breaking ties.
func byCreation(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		if rss[i].CreationTimestamp.Equal(&rss[j].CreationTimestamp) {
			return rss[i].Name < rss[j].Name
		}
		return rss[i].CreationTimestamp.Before(&rss[j].CreationTimestamp)
	})
}

// splitNewOld finds the new ReplicaSet (the oldest whose template is the
// Deployment's) and the old ones.
func splitNewOld(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	sorted := append([]*appsv1.ReplicaSet(nil), rss...)
	byCreation(sorted)
	var newRS *appsv1.ReplicaSet
	var old []*appsv1.ReplicaSet
	for _, rs := range sorted {
		if newRS == nil && equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
			continue
		}
		old = append(old, rs)
	}
	return newRS, old
}

func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func specReplicas(rss ...*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += replicasOf(rs.Spec.Replicas)
		}
	}
	return n
}

// maxSurge is the Deployment's surge in pods (0 for Recreate).
func maxSurge(d *appsv1.Deployment) int32 {
	surge, _ := fenceposts(d)
	return surge
}

// maxUnavailable is the Deployment's unavailability in pods, never more
// than its replicas.
func maxUnavailable(d *appsv1.Deployment) int32 {
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || replicasOf(d.Spec.Replicas) == 0 {
		return 0
	}
	_, unavailable := fenceposts(d)
	return min(unavailable, replicasOf(d.Spec.Replicas))
}

// fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded
// down) against replicas; both 0 makes unavailable 1, as kube.
func fenceposts(d *appsv1.Deployment) (int32, int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil {
		return 0, 0
	}
	n := int(replicasOf(d.Spec.Replicas))
	zero := intstr.FromInt32(0)
	surgeV, unavailV := &zero, &zero
	if ru.MaxSurge != nil {
		surgeV = ru.MaxSurge
	}
	if ru.MaxUnavailable != nil {
		unavailV = ru.MaxUnavailable
	}
	surge, err := intstr.GetScaledValueFromIntOrPercent(surgeV, n, true)
	if err != nil {
		surge = 0
	}
	unavailable, err := intstr.GetScaledValueFromIntOrPercent(unavailV, n, false)
	if err != nil {
		unavailable = 0
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return int32(surge), int32(unavailable)
}

func revisionOf(obj metav1.Object) int64 {
	n, err := strconv.ParseInt(obj.GetAnnotations()[revisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var n int64
	for _, rs := range rss {
		n = max(n, revisionOf(rs))
	}
	return n
}

// copiedAnnotation reports whether a Deployment annotation is copied to
// its ReplicaSets.
func copiedAnnotation(k string) bool {
	switch k {
	case lastAppliedAnnotation, revisionAnnotation, revisionHistoryAnnotation, desiredReplicasAnnotation,
		maxReplicasAnnotation, rollbackToAnnotation:
		return false
	}
	return true
}

// setNewAnnotations gives rs the Deployment's annotations and revision (and
// the replica annotations when missing); it reports a change.
func setNewAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, revision int64) bool {
	before := maps.Clone(rs.Annotations)
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if copiedAnnotation(k) {
			rs.Annotations[k] = v
		}
	}
	if old := revisionOf(rs); old < revision {
		if old > 0 {
			if h := rs.Annotations[revisionHistoryAnnotation]; h != "" {
				rs.Annotations[revisionHistoryAnnotation] = h + "," + strconv.FormatInt(old, 10)
			} else {
				rs.Annotations[revisionHistoryAnnotation] = strconv.FormatInt(old, 10)
			}
		}
		rs.Annotations[revisionAnnotation] = strconv.FormatInt(revision, 10)
	}
	if _, ok := rs.Annotations[desiredReplicasAnnotation]; !ok {
		setReplicaAnnotations(rs, replicasOf(d.Spec.Replicas), replicasOf(d.Spec.Replicas)+maxSurge(d))
	}
	return !maps.Equal(before, rs.Annotations)
}

// setReplicaAnnotations writes desired-replicas and max-replicas; it
// reports a change.
func setReplicaAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	d, m := strconv.Itoa(int(desired)), strconv.Itoa(int(maxReplicas))
	if rs.Annotations[desiredReplicasAnnotation] == d && rs.Annotations[maxReplicasAnnotation] == m {
		return false
	}
	rs.Annotations[desiredReplicasAnnotation], rs.Annotations[maxReplicasAnnotation] = d, m
	return true
}

// annotatedInt is an integer annotation of rs.
func annotatedInt(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return int32(n), err == nil
}
