package statefulset

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"petset/internal/testenv"
)

// walker drives one set through a random walk of environment events and
// syncs, checking the §9 invariants after every sync.
type walker struct {
	t    *testing.T
	h    *harness
	r    *rand.Rand
	name string
	seed int64

	chaos bool // random pod failures, external deletions and injected API errors
	calm  bool // never enable chaos
	steps int
}

var injectable = []string{
	"create/pods", "update/pods", "delete/pods",
	"create/persistentvolumeclaims", "update/persistentvolumeclaims",
	"update/statefulsets/status", "create/controllerrevisions",
	"update/controllerrevisions", "delete/controllerrevisions",
}

func (w *walker) fatalf(format string, args ...interface{}) {
	w.t.Helper()
	w.t.Fatalf("seed %d, step %d: %s", w.seed, w.steps, fmt.Sprintf(format, args...))
}

// environment moves the world forward: the kubelet starts pods, makes them
// ready, pods fail, users delete pods, graceful deletions finish.
func (w *walker) environment() {
	h := w.h
	var movable []*v1.Pod
	for _, p := range h.pods() {
		switch {
		case p.DeletionTimestamp != nil:
			if w.r.Intn(2) == 0 {
				h.removePod(p.Name)
			}
			continue
		case p.Status.Phase == "":
			h.setPending(p)
		}
		if p.Status.Phase == v1.PodPending || (p.Status.Phase == v1.PodRunning && !isRunningAndReady(p)) {
			movable = append(movable, p)
		}
	}
	if !w.chaos {
		// The operator's manual fix (§3.6, §4.10): OrderedReady never deletes
		// a condemned pod above another unhealthy one, and terminal pods
		// never recover, so stuck terminal condemned pods are deleted by hand.
		set := h.set(w.name)
		for _, p := range h.pods() {
			if isFailedOrSucceeded(p) && !inRange(set, podOrdinal(p)) && p.DeletionTimestamp == nil && w.r.Intn(10) == 0 {
				h.removePod(p.Name)
			}
		}
	}
	if len(movable) > 0 {
		p := movable[w.r.Intn(len(movable))]
		if p.Status.Phase == v1.PodPending {
			h.setRunning(p)
		} else {
			h.setReady(p)
		}
	}
	if w.chaos {
		pods := h.pods()
		if len(pods) > 0 && w.r.Intn(25) == 0 {
			p := pods[w.r.Intn(len(pods))]
			if p.DeletionTimestamp == nil && p.Status.Phase != "" {
				if w.r.Intn(2) == 0 {
					h.setPhase(p, v1.PodFailed)
				} else {
					h.setPhase(p, v1.PodSucceeded)
				}
			}
		}
		if len(pods) > 0 && w.r.Intn(25) == 0 {
			p := pods[w.r.Intn(len(pods))]
			h.removePod(p.Name) // a user's forced delete
		}
		if w.r.Intn(8) == 0 {
			h.injectError(injectable[w.r.Intn(len(injectable))], 1)
		}
	}
	h.advance(time.Duration(1+w.r.Intn(5)) * time.Second)
}

// step runs the environment, one sync, and the per-step invariants. It
// returns the sync error.
func (w *walker) step() error {
	w.t.Helper()
	w.steps++
	w.environment()
	if os.Getenv("STATEFULSET_WALK_TRACE") != "" {
		st := w.h.set(w.name).Status
		w.t.Logf("step %d: spec replicas=%d start=%d image=%s status cur=%s upd=%s r=%d cr=%d ur=%d pods=%s", w.steps, specReplicas(w.h.set(w.name)), startOrdinal(w.h.set(w.name)), w.h.set(w.name).Spec.Template.Spec.Containers[0].Image, st.CurrentRevision, st.UpdateRevision, st.Replicas, st.CurrentReplicas, st.UpdatedReplicas, describePods(w.h.pods()))
	}
	h := w.h
	h.refresh()
	before := h.pods()
	beforeSet := h.set(w.name).DeepCopy()
	injectedBefore := h.injectedCount()
	_, err := h.ctrl.sync(testCtx(), testNS+"/"+w.name)
	h.checkViolations()
	injected := h.injectedCount() != injectedBefore
	w.checkStep(beforeSet, before, h.pods(), injected)
	if injected {
		// Injected errors are only ever at the write that got them; clear
		// leftovers so that convergence is reachable.
		h.mu.Lock()
		h.inject = map[string]int{}
		h.mu.Unlock()
	}
	return err
}

// checkStep verifies what one sync did, from the states before and after it.
func (w *walker) checkStep(set *apps.StatefulSet, before, after []*v1.Pod, injected bool) {
	w.t.Helper()
	h := w.h
	now := h.clock()
	monotonic := set.Spec.PodManagementPolicy != apps.ParallelPodManagement
	start := startOrdinal(set)
	n := specReplicas(set)
	byUID := map[types.UID]*v1.Pod{}
	byOrd := map[int]*v1.Pod{}
	for _, p := range before {
		byUID[p.UID] = p
		byOrd[podOrdinal(p)] = p
	}
	healthy := func(p *v1.Pod) bool { return p != nil && !isUnavailable(p, set.Spec.MinReadySeconds, now) }
	allReplicasHealthy := func() bool {
		for i := 0; i < n; i++ {
			if !healthy(byOrd[start+i]) {
				return false
			}
		}
		return true
	}

	// Identity and storage of every pod.
	seenOrd := map[int]bool{}
	for _, p := range after {
		if !identityMatches(set, p) || !storageMatches(set, p) {
			w.fatalf("pod %s fails identity/storage checks: %+v", p.Name, p.Spec.Volumes)
		}
		if seenOrd[podOrdinal(p)] {
			w.fatalf("two pods for ordinal %d", podOrdinal(p))
		}
		seenOrd[podOrdinal(p)] = true
		if p.Labels[PodIndexLabel] != strconv.Itoa(podOrdinal(p)) {
			w.fatalf("pod %s index label %q", p.Name, p.Labels[PodIndexLabel])
		}
		for i := range set.Spec.VolumeClaimTemplates {
			if _, ok := h.claims()[claimName(set, &set.Spec.VolumeClaimTemplates[i], podOrdinal(p))]; !ok &&
				!retentionOf(set).whenScaledDelete && p.DeletionTimestamp == nil && byUID[p.UID] == nil {
				w.fatalf("pod %s was created without its claim", p.Name)
			}
		}
	}

	// Creations.
	var created []*v1.Pod
	for _, p := range after {
		if byUID[p.UID] == nil {
			created = append(created, p)
		}
	}
	if set.DeletionTimestamp != nil && len(created) > 0 {
		w.fatalf("set being deleted created pods %v", names(created))
	}
	if monotonic && len(created) > 1 {
		w.fatalf("OrderedReady created %d pods in one sync: %v", len(created), names(created))
	}
	for _, p := range created {
		ord := podOrdinal(p)
		if !inRange(set, ord) {
			w.fatalf("created out-of-range pod %s", p.Name)
		}
		if monotonic {
			for o := start; o < ord; o++ {
				if !healthy(byOrd[o]) {
					w.fatalf("OrderedReady created %s past unhealthy or missing ordinal %d", p.Name, o)
				}
			}
		}
	}

	// Deletions the sync made: pods alive before, terminating or gone after.
	afterByUID := map[types.UID]*v1.Pod{}
	for _, p := range after {
		afterByUID[p.UID] = p
	}
	var condemnedDeleted, updateDeleted []*v1.Pod
	availableUpdateDeleted := 0
	for _, p := range before {
		if p.DeletionTimestamp != nil {
			continue
		}
		if a := afterByUID[p.UID]; a != nil && a.DeletionTimestamp == nil {
			continue
		}
		ord := podOrdinal(p)
		switch {
		case isFailedOrSucceeded(p):
		case !inRange(set, ord):
			condemnedDeleted = append(condemnedDeleted, p)
		default:
			updateDeleted = append(updateDeleted, p)
			if healthy(p) {
				availableUpdateDeleted++
			}
		}
	}
	for _, d := range condemnedDeleted {
		if !monotonic {
			continue
		}
		if len(condemnedDeleted) > 1 {
			w.fatalf("OrderedReady deleted %d condemned pods at once", len(condemnedDeleted))
		}
		if !allReplicasHealthy() {
			w.fatalf("OrderedReady deleted condemned %s while a replica was unhealthy", d.Name)
		}
		for _, p := range before {
			if o := podOrdinal(p); o > podOrdinal(d) && !inRange(set, o) {
				w.fatalf("OrderedReady deleted %s while higher condemned %s exists", d.Name, p.Name)
			}
		}
		if !healthy(d) {
			for _, p := range before {
				if o := podOrdinal(p); o < podOrdinal(d) && !inRange(set, o) && !healthy(p) {
					w.fatalf("OrderedReady deleted unhealthy %s above unhealthy %s", d.Name, p.Name)
				}
			}
		}
	}
	if len(updateDeleted) > 0 {
		if set.Spec.UpdateStrategy.Type != apps.RollingUpdateStatefulSetStrategyType {
			w.fatalf("OnDelete set deleted in-range pods %v", names(updateDeleted))
		}
		updateName := h.set(w.name).Status.UpdateRevision
		for _, d := range updateDeleted {
			if podOrdinal(d)-start < partition(set) {
				w.fatalf("rolling update deleted %s below partition %d", d.Name, partition(set))
			}
			if !injected && podRevision(d) == updateName {
				w.fatalf("rolling update deleted %s already at update revision", d.Name)
			}
		}
		if monotonic && !allReplicasHealthy() {
			w.fatalf("OrderedReady rolled %v while a replica was unhealthy", names(updateDeleted))
		}
		down := 0
		for i := 0; i < n; i++ {
			if !healthy(byOrd[start+i]) {
				down++
			}
		}
		if maxU := resolveMaxUnavailable(set); availableUpdateDeleted > 0 && down+availableUpdateDeleted > maxU {
			w.fatalf("rolling update took %d available pods down with %d already unavailable, maxUnavailable %d",
				availableUpdateDeleted, down, maxU)
		}
	}

	if injected {
		return
	}
	// Status matches the pods the sync saw and those it created.
	st := h.set(w.name).Status
	var want apps.StatefulSetStatus
	want.CurrentRevision, want.UpdateRevision = st.CurrentRevision, st.UpdateRevision
	countPods(&want, before, set.Spec.MinReadySeconds, now)
	for _, p := range created {
		countCreated(&want, p)
	}
	if st.ObservedGeneration != set.Generation {
		w.fatalf("observedGeneration %d, generation %d", st.ObservedGeneration, set.Generation)
	}
	if st.Replicas != want.Replicas || st.ReadyReplicas != want.ReadyReplicas ||
		st.AvailableReplicas != want.AvailableReplicas || st.UpdatedReplicas != want.UpdatedReplicas {
		w.fatalf("status %+v does not match pods (want replicas/ready/available/updated %d/%d/%d/%d)",
			st, want.Replicas, want.ReadyReplicas, want.AvailableReplicas, want.UpdatedReplicas)
	}
	if st.CurrentRevision == st.UpdateRevision && st.CurrentReplicas != st.UpdatedReplicas {
		w.fatalf("currentRevision == updateRevision but currentReplicas %d != updatedReplicas %d", st.CurrentReplicas, st.UpdatedReplicas)
	}
	if st.CurrentRevision != st.UpdateRevision &&
		(st.CurrentReplicas > want.CurrentReplicas || st.CurrentReplicas < want.CurrentReplicas-int32(len(updateDeleted))) {
		w.fatalf("currentReplicas %d, pods at current revision %d, deleted for update %d; status %+v; pods before %s",
			st.CurrentReplicas, want.CurrentReplicas, len(updateDeleted), st, describePods(before))
	}
	// History bound: at most revisionHistoryLimit revisions besides the live ones.
	if limit := int(*set.Spec.RevisionHistoryLimit); limit >= 0 {
		// The sync truncates with the current revision it started from;
		// completion may advance it only when the status is written.
		live := map[string]bool{st.CurrentRevision: true, st.UpdateRevision: true, set.Status.CurrentRevision: true}
		for _, p := range before {
			live[podRevision(p)] = true
		}
		old := 0
		for _, r := range h.revisions() {
			if !live[r.Name] {
				old++
			}
		}
		if old > limit {
			w.fatalf("%d non-live revisions kept, limit %d", old, limit)
		}
	}
}

// converged reports whether the set reached its spec, and checks the
// end-state invariants when it has.
func (w *walker) converged() bool {
	w.t.Helper()
	h := w.h
	set := h.set(w.name)
	pods := h.pods()
	n := specReplicas(set)
	start := startOrdinal(set)
	if len(pods) != n {
		return false
	}
	for i, p := range pods {
		if podOrdinal(p) != start+i || p.DeletionTimestamp != nil || !isRunningAndAvailable(p, set.Spec.MinReadySeconds, h.clock()) {
			return false
		}
	}
	st := set.Status
	if st.ObservedGeneration != set.Generation || int(st.Replicas) != n || int(st.ReadyReplicas) != n || int(st.AvailableReplicas) != n {
		return false
	}
	if set.Spec.UpdateStrategy.Type == apps.RollingUpdateStatefulSetStrategyType {
		for i, p := range pods {
			if i >= partition(set) && podRevision(p) != st.UpdateRevision {
				return false
			}
		}
		if partition(set) == 0 && (st.CurrentRevision != st.UpdateRevision || int(st.CurrentReplicas) != n) {
			return false
		}
		// Below the partition pods keep whatever revision they have: the
		// per-step checks make sure no update ever deleted them.
	}
	// A stale claim (GC not yet caught up) is fine for a moment; claim refs of
	// the final state must follow the retention table.
	claims := h.claims()
	for _, p := range pods {
		for i := range set.Spec.VolumeClaimTemplates {
			c := claims[claimName(set, &set.Spec.VolumeClaimTemplates[i], podOrdinal(p))]
			if c == nil {
				return false
			}
			if !claimOwnershipMatches(c, set, p) || claimHasStaleRef(c, set, p) {
				return false
			}
		}
	}
	// The update revision holds the live template.
	var update *apps.ControllerRevision
	for _, r := range h.revisions() {
		if r.Name == st.UpdateRevision {
			update = r
		}
	}
	if update == nil {
		w.fatalf("update revision %s does not exist", st.UpdateRevision)
	}
	tmpl, err := revisionTemplate(update)
	if err != nil || !apiequality.Semantic.DeepEqual(*tmpl, set.Spec.Template) {
		w.fatalf("update revision template differs from the live template")
	}
	return true
}

// converge walks until the set converges; chaos is switched off after a
// while so that convergence is always reachable.
func (w *walker) converge(what string) {
	w.t.Helper()
	const maxSteps = 4000
	for i := 0; i < maxSteps; i++ {
		w.chaos = i < 150 && !w.calm
		err := w.step()
		if err == nil && w.converged() {
			return
		}
	}
	w.fatalf("%s: did not converge in %d steps; pods %v status %+v", what, maxSteps, names(w.h.pods()), w.h.set(w.name).Status)
}

func TestRandomWalk(t *testing.T) {
	// Walk i runs on seed base+i; PETSET_TEST_SEED=base replays them all.
	base := testenv.Seed(t)
	retentions := []struct {
		scaled, deleted apps.PersistentVolumeClaimRetentionPolicyType
	}{
		{apps.RetainPersistentVolumeClaimRetentionPolicyType, apps.RetainPersistentVolumeClaimRetentionPolicyType},
		{apps.RetainPersistentVolumeClaimRetentionPolicyType, apps.DeletePersistentVolumeClaimRetentionPolicyType},
		{apps.DeletePersistentVolumeClaimRetentionPolicyType, apps.RetainPersistentVolumeClaimRetentionPolicyType},
		{apps.DeletePersistentVolumeClaimRetentionPolicyType, apps.DeletePersistentVolumeClaimRetentionPolicyType},
	}
	i := 0
	for _, parallel := range []bool{false, true} {
		for _, onDelete := range []bool{false, true} {
			for _, ret := range retentions {
				i++
				seed := base + int64(i)
				name := fmt.Sprintf("parallel=%v/onDelete=%v/%s-%s", parallel, onDelete, ret.scaled, ret.deleted)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					runWalk(t, seed, parallel, onDelete, ret.scaled, ret.deleted)
				})
			}
		}
	}
}

func runWalk(t *testing.T, seed int64, parallel, onDelete bool, scaled, deleted apps.PersistentVolumeClaimRetentionPolicyType) {
	r := rand.New(rand.NewSource(seed))
	h := newHarness(t)
	o := setOpts{
		replicas:    int32(1 + r.Intn(5)),
		parallel:    parallel,
		onDelete:    onDelete,
		whenScaled:  scaled,
		whenDeleted: deleted,
		minReady:    int32([]int{0, 0, 8}[r.Intn(3)]),
		start:       int32([]int{0, 0, 3}[r.Intn(3)]),
	}
	if !onDelete {
		o.partition = int32([]int{0, 0, 1, 2}[r.Intn(4)])
		mu := []intstr.IntOrString{intstr.FromInt32(1), intstr.FromInt32(2), intstr.FromString("50%")}[r.Intn(3)]
		o.maxUnavailable = &mu
	}
	limit := int32([]int{0, 2, 10}[r.Intn(3)])
	o.historyLimit = &limit
	t.Logf("seed %d: %+v", seed, o)
	w := &walker{t: t, h: h, r: r, name: "web", seed: seed}
	h.createSet(newSet("web", o))
	w.converge("create")

	for round, image := range []string{"nginx:2", "nginx:3", "nginx:2"} {
		revsBefore := len(h.revisions())
		var prior *apps.ControllerRevision
		for _, rev := range h.revisions() {
			if tmpl, err := revisionTemplate(rev); err == nil && tmpl.Spec.Containers[0].Image == image {
				prior = rev
			}
		}
		h.updateSet("web", setImage(image))
		if onDelete {
			// Replacements come from user deletions; delete every pod once.
			for _, p := range h.pods() {
				h.removePod(p.Name)
			}
		}
		w.converge("update to " + image)
		if prior != nil {
			// A rollback reuses the old revision, renumbered past all others.
			st := h.set("web").Status
			revs := h.revisions()
			if st.UpdateRevision != prior.Name || len(revs) > revsBefore || revs[len(revs)-1].Name != prior.Name {
				w.fatalf("rollback to %s did not renumber %s: update %s, %d revisions (was %d)", image, prior.Name, st.UpdateRevision, len(revs), revsBefore)
			}
		}
		if round == 2 && limit == 10 && prior == nil {
			w.fatalf("revision of %s was truncated with a history limit of 10", image)
		}
		for _, p := range h.pods() {
			if i := podOrdinal(p) - startOrdinal(h.set("web")); (onDelete || i >= int(o.partition)) && podImage(p) != image {
				w.fatalf("pod %s runs %s after update to %s", p.Name, podImage(p), image)
			}
		}
		h.updateSet("web", setReplicas(int32(r.Intn(6))))
		w.converge("scale")
	}
	h.updateSet("web", func(s *apps.StatefulSet) { s.Spec.Ordinals = &apps.StatefulSetOrdinals{Start: int32(r.Intn(3))} })
	w.converge("move ordinals")
	h.updateSet("web", setReplicas(0))
	w.converge("scale to zero")
}

func describePods(pods []*v1.Pod) string {
	out := ""
	for _, p := range pods {
		out += fmt.Sprintf("\n  %s uid=%s phase=%s ready=%v terminating=%v rev=%s", p.Name, p.UID, p.Status.Phase, isRunningAndReady(p), p.DeletionTimestamp != nil, podRevision(p))
	}
	return out
}
