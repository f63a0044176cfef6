package statefulset

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"petset/internal/fencing"
)

// Labels the controller writes on pods and revisions.
const (
	// PodNameLabel carries the pod's own name, so a Service can select one replica.
	PodNameLabel = "statefulset.kubernetes.io/pod-name"
	// PodIndexLabel carries the pod's ordinal in decimal.
	PodIndexLabel = "apps.kubernetes.io/pod-index"
	// RevisionLabel on a pod names the ControllerRevision the pod was built from.
	RevisionLabel = "controller-revision-hash"
	// RevisionHashLabel on a ControllerRevision carries the bare hash.
	RevisionHashLabel = "controller.kubernetes.io/hash"
)

var (
	setKind = apps.SchemeGroupVersion.WithKind("StatefulSet")
	podKind = v1.SchemeGroupVersion.WithKind("Pod")
)

// parsePodName returns the parent set name and the ordinal encoded in a pod
// name: "<parent>-<ordinal>" split at the last "-", as upstream's
// `(.*)-([0-9]+)$` does (its "." matches no newline, so the parent starts
// after the last one; names of pods have none). The ordinal is -1 when
// the name carries none or it overflows int32. It runs for every pod of a
// set on every sync, so it is written out rather than a regexp (which was
// 3 % of W6's CPU).
func parsePodName(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return "", -1
	}
	digits := name[i+1:]
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return "", -1
		}
	}
	parent := name[:i]
	if nl := strings.LastIndexByte(parent, '\n'); nl >= 0 {
		parent = parent[nl+1:]
	}
	ord, err := strconv.ParseInt(digits, 10, 32)
	if err != nil {
		return parent, -1
	}
	return parent, int(ord)
}

func podOrdinal(pod *v1.Pod) int {
	_, ord := parsePodName(pod.Name)
	return ord
}

func startOrdinal(set *apps.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func specReplicas(set *apps.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether an ordinal lies in [start, start+replicas).
func inRange(set *apps.StatefulSet, ord int) bool {
	start := startOrdinal(set)
	return ord >= start && ord < start+specReplicas(set)
}

func podName(set *apps.StatefulSet, ord int) string {
	return fmt.Sprintf("%s-%d", set.Name, ord)
}

func claimName(set *apps.StatefulSet, claim *v1.PersistentVolumeClaim, ord int) string {
	return claim.Name + "-" + set.Name + "-" + strconv.Itoa(ord)
}

// isMemberOf reports whether the pod's name makes it a replica of set.
func isMemberOf(set *apps.StatefulSet, pod *v1.Pod) bool {
	parent, _ := parsePodName(pod.Name)
	return parent == set.Name
}

func identityMatches(set *apps.StatefulSet, pod *v1.Pod) bool {
	parent, ord := parsePodName(pod.Name)
	return ord >= 0 &&
		parent == set.Name &&
		pod.Name == podName(set, ord) &&
		pod.Namespace == set.Namespace &&
		pod.Labels[PodNameLabel] == pod.Name
}

func storageMatches(set *apps.StatefulSet, pod *v1.Pod) bool {
	ord := podOrdinal(pod)
	if ord < 0 {
		return false
	}
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := &set.Spec.VolumeClaimTemplates[i]
		var v *v1.Volume // the last of the name, should a pod repeat one
		for j := range pod.Spec.Volumes {
			if pod.Spec.Volumes[j].Name == tmpl.Name {
				v = &pod.Spec.Volumes[j]
			}
		}
		if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claimName(set, tmpl, ord) {
			return false
		}
	}
	return true
}

// podClaims returns the claims the pod needs, keyed by claim template name.
func podClaims(set *apps.StatefulSet, pod *v1.Pod) map[string]v1.PersistentVolumeClaim {
	ord := podOrdinal(pod)
	claims := make(map[string]v1.PersistentVolumeClaim, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := &set.Spec.VolumeClaimTemplates[i]
		claims[tmpl.Name] = *podClaim(set, tmpl, ord)
	}
	return claims
}

// podClaim is the claim the pod of ordinal ord needs from template tmpl.
func podClaim(set *apps.StatefulSet, tmpl *v1.PersistentVolumeClaim, ord int) *v1.PersistentVolumeClaim {
	claim := tmpl.DeepCopy()
	claim.Name = claimName(set, tmpl, ord)
	claim.Namespace = set.Namespace
	claim.ResourceVersion = ""
	claim.UID = ""
	claim.OwnerReferences = nil
	if set.Spec.Selector != nil && len(set.Spec.Selector.MatchLabels) > 0 {
		if claim.Labels == nil {
			claim.Labels = make(map[string]string, len(set.Spec.Selector.MatchLabels))
		}
		for k, v := range set.Spec.Selector.MatchLabels {
			claim.Labels[k] = v
		}
	}
	return claim
}

// podClaimNames returns the names of the claims the pod needs, in template
// order: what the checks that run on every sync need, without building
// (deep-copying) the claims themselves.
func podClaimNames(set *apps.StatefulSet, pod *v1.Pod) []string {
	ord := podOrdinal(pod)
	names := make([]string, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		names[i] = claimName(set, &set.Spec.VolumeClaimTemplates[i], ord)
	}
	return names
}

// updateStorage rewrites the pod's claim volumes to the expected claims.
func updateStorage(set *apps.StatefulSet, pod *v1.Pod) {
	claims := podClaims(set, pod)
	vols := make([]v1.Volume, 0, len(claims)+len(pod.Spec.Volumes))
	for i := range set.Spec.VolumeClaimTemplates {
		name := set.Spec.VolumeClaimTemplates[i].Name
		c := claims[name]
		vols = append(vols, v1.Volume{
			Name: name,
			VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name, ReadOnly: false},
			},
		})
	}
	for _, v := range pod.Spec.Volumes {
		if _, isClaim := claims[v.Name]; !isClaim {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// updateIdentity re-applies name, namespace and the identity labels.
func updateIdentity(set *apps.StatefulSet, pod *v1.Pod) {
	ord := podOrdinal(pod)
	pod.Name = podName(set, ord)
	pod.Namespace = set.Namespace
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[PodNameLabel] = pod.Name
	pod.Labels[PodIndexLabel] = strconv.Itoa(ord)
}

// newPod builds the pod for ordinal from set's template (the template of the
// chosen revision) and labels it with revisionName.
func newPod(set *apps.StatefulSet, revisionName string, ord int) *v1.Pod {
	tmpl := &set.Spec.Template
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            podName(set, ord),
			GenerateName:    set.Name + "-",
			Namespace:       set.Namespace,
			Labels:          make(map[string]string, len(tmpl.Labels)+3),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, setKind)},
		},
	}
	for k, v := range tmpl.Labels {
		pod.Labels[k] = v
	}
	if tmpl.Annotations != nil {
		pod.Annotations = make(map[string]string, len(tmpl.Annotations))
		for k, v := range tmpl.Annotations {
			pod.Annotations[k] = v
		}
	}
	if tmpl.Finalizers != nil {
		pod.Finalizers = append([]string(nil), tmpl.Finalizers...)
	}
	pod.Spec = *tmpl.Spec.DeepCopy()
	updateIdentity(set, pod)
	updateStorage(set, pod)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	pod.Labels[RevisionLabel] = revisionName
	return pod
}

// newVersionedPod builds the pod for ordinal at the revision §4.5 picks.
func newVersionedPod(currentSet, updateSet *apps.StatefulSet, currentName, updateName string, ord int) *v1.Pod {
	start := startOrdinal(currentSet)
	rs := currentSet.Spec.UpdateStrategy
	if rs.Type == apps.RollingUpdateStatefulSetStrategyType {
		if rs.RollingUpdate == nil && ord < start+int(currentSet.Status.CurrentReplicas) {
			return newPod(currentSet, currentName, ord)
		}
		if rs.RollingUpdate != nil && ord < start+partition(currentSet) {
			return newPod(currentSet, currentName, ord)
		}
	}
	return newPod(updateSet, updateName, ord)
}

func partition(set *apps.StatefulSet) int {
	ru := set.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.Partition == nil {
		return 0
	}
	return int(*ru.Partition)
}

func podRevision(pod *v1.Pod) string { return pod.Labels[RevisionLabel] }

// Pod lifecycle predicates.

func isCreated(pod *v1.Pod) bool     { return pod.Status.Phase != "" }
func isPending(pod *v1.Pod) bool     { return pod.Status.Phase == v1.PodPending }
func isTerminating(pod *v1.Pod) bool { return pod.DeletionTimestamp != nil }
func isFailedOrSucceeded(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodFailed || pod.Status.Phase == v1.PodSucceeded
}

func readyCondition(pod *v1.Pod) *v1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == v1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func isRunningAndReady(pod *v1.Pod) bool {
	c := readyCondition(pod)
	return pod.Status.Phase == v1.PodRunning && c != nil && c.Status == v1.ConditionTrue
}

// isRunningAndAvailable: Running, Ready, and Ready for more than minReadySeconds.
func isRunningAndAvailable(pod *v1.Pod, minReadySeconds int32, now time.Time) bool {
	if !isRunningAndReady(pod) {
		return false
	}
	if minReadySeconds <= 0 {
		return true
	}
	c := readyCondition(pod)
	if c.LastTransitionTime.IsZero() {
		return false
	}
	return c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Before(now)
}

// isUnavailable is the 1.37 health rule: terminating, or not Running, Ready and
// available for minReadySeconds.
func isUnavailable(pod *v1.Pod, minReadySeconds int32, now time.Time) bool {
	return isTerminating(pod) || !isRunningAndAvailable(pod, minReadySeconds, now)
}

// Claim ownership for the retention policy (§5).

type retention struct {
	whenScaledDelete  bool
	whenDeletedDelete bool
}

func retentionOf(set *apps.StatefulSet) retention {
	p := set.Spec.PersistentVolumeClaimRetentionPolicy
	if p == nil {
		return retention{}
	}
	return retention{
		whenScaledDelete:  p.WhenScaled == apps.DeletePersistentVolumeClaimRetentionPolicyType,
		whenDeletedDelete: p.WhenDeleted == apps.DeletePersistentVolumeClaimRetentionPolicyType,
	}
}

func (r retention) retainAll() bool { return !r.whenScaledDelete && !r.whenDeletedDelete }

// refersTo reports whether ref names the object of gvk with name (any UID).
func refersTo(ref metav1.OwnerReference, gvk schema.GroupVersionKind, name string) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false
	}
	return gv.Group == gvk.Group && ref.Kind == gvk.Kind && ref.Name == name
}

// claimHasStaleRef reports whether the claim refers to the set or the pod by
// name with another UID: it belongs to an earlier incarnation.
func claimHasStaleRef(claim *v1.PersistentVolumeClaim, set *apps.StatefulSet, pod *v1.Pod) bool {
	for _, ref := range claim.OwnerReferences {
		if refersTo(ref, setKind, set.Name) && ref.UID != set.UID {
			return true
		}
		if refersTo(ref, podKind, pod.Name) && ref.UID != pod.UID {
			return true
		}
	}
	return false
}

// claimHasOtherController reports whether a controller other than set or pod owns the claim.
func claimHasOtherController(claim *v1.PersistentVolumeClaim, set *apps.StatefulSet, pod *v1.Pod) bool {
	for _, ref := range claim.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if refersTo(ref, setKind, set.Name) || refersTo(ref, podKind, pod.Name) {
			continue
		}
		return true
	}
	return false
}

// wantedClaimRefs returns whether the claim should carry a controller ref to
// the set and to the pod.
func wantedClaimRefs(set *apps.StatefulSet, pod *v1.Pod) (setRef, podRef bool) {
	r := retentionOf(set)
	condemned := !inRange(set, podOrdinal(pod))
	if condemned {
		return r.whenDeletedDelete && !r.whenScaledDelete, r.whenScaledDelete
	}
	return r.whenDeletedDelete, false
}

// hasOnlyControllerRef reports whether refs refer to (gvk, name) at all, and
// whether they hold exactly one such ref
// and it is a controller ref with uid.
func hasOnlyControllerRef(refs []metav1.OwnerReference, gvk schema.GroupVersionKind, name string, uid string) (found, exact bool) {
	n := 0
	ok := false
	for _, ref := range refs {
		if !refersTo(ref, gvk, name) {
			continue
		}
		n++
		if string(ref.UID) == uid && ref.Controller != nil && *ref.Controller {
			ok = true
		}
	}
	return n > 0, n == 1 && ok
}

// claimOwnershipMatches reports whether the claim's owner references already
// follow the retention policy for pod.
func claimOwnershipMatches(claim *v1.PersistentVolumeClaim, set *apps.StatefulSet, pod *v1.Pod) bool {
	if claimHasStaleRef(claim, set, pod) {
		return true
	}
	wantSet, wantPod := wantedClaimRefs(set, pod)
	if !retentionOf(set).retainAll() && claimHasOtherController(claim, set, pod) {
		wantSet, wantPod = false, false
	}
	setFound, setExact := hasOnlyControllerRef(claim.OwnerReferences, setKind, set.Name, string(set.UID))
	podFound, podExact := hasOnlyControllerRef(claim.OwnerReferences, podKind, pod.Name, string(pod.UID))
	if wantSet != setExact || (!wantSet && setFound) {
		return false
	}
	if wantPod != podExact || (!wantPod && podFound) {
		return false
	}
	return true
}

// rewriteClaimRefs rewrites claim's owner references for the policy. It
// returns true when another controller owns the claim (the policy is then not
// applied to it).
func rewriteClaimRefs(claim *v1.PersistentVolumeClaim, set *apps.StatefulSet, pod *v1.Pod) (conflict bool) {
	wantSet, wantPod := wantedClaimRefs(set, pod)
	if !retentionOf(set).retainAll() && claimHasOtherController(claim, set, pod) {
		wantSet, wantPod, conflict = false, false, true
	}
	refs := make([]metav1.OwnerReference, 0, len(claim.OwnerReferences)+2)
	for _, ref := range claim.OwnerReferences {
		if refersTo(ref, setKind, set.Name) || refersTo(ref, podKind, pod.Name) {
			continue
		}
		refs = append(refs, ref)
	}
	if wantSet {
		refs = append(refs, *metav1.NewControllerRef(set, setKind))
	}
	if wantPod && pod.UID != "" {
		refs = append(refs, *metav1.NewControllerRef(pod, podKind))
	}
	if len(refs) == 0 {
		refs = nil
	}
	claim.OwnerReferences = refs
	return conflict
}

// Automatic failover (docs/fencing.md).

// failoverWanted reports whether the set's pods opt into automatic
// failover: with `petset server --auto-failover` (clusterWide), or when the
// set carries fencing.FailoverAnnotation=auto on its own metadata.
func failoverWanted(set *apps.StatefulSet, clusterWide bool) bool {
	return clusterWide || set.Annotations[fencing.FailoverAnnotation] == fencing.FailoverAuto
}

// failoverChange says how pod's fencing.FailoverAnnotation must change so
// that it opts in exactly when the set asks for it: add, remove, or
// neither. An opt-in that comes from the set's pod template is the
// template's and is never removed.
func failoverChange(set *apps.StatefulSet, pod *v1.Pod, clusterWide bool) (add, remove bool) {
	has := fencing.AutoFailover(pod)
	switch {
	case failoverWanted(set, clusterWide):
		return !has, false
	case has && set.Spec.Template.Annotations[fencing.FailoverAnnotation] != fencing.FailoverAuto:
		return false, true
	}
	return false, false
}
