package workload

// A Tracker follows one kind of object in one namespace through a watch and
// answers "when did this condition first become true" with the time the
// event that made it true arrived — not the time somebody next looked.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// State is what conditions see: the live objects by name.
type State struct {
	objs    map[string]runtime.Object
	added   map[string]time.Time            // first ADDED event received
	readyAt map[string]time.Time            // first event in which ready(obj) held
	marked  map[string]map[string]time.Time // mark → name → first event in which it held
	// nReady counts the live objects for which the tracker's ready holds
	// now, kept as events arrive so that a condition on it costs O(1) per
	// event (W6: 10,000 pods, tens of thousands of events).
	nReady int
}

type waiter struct {
	cond func(*State) bool
	at   chan time.Time
}

type Tracker struct {
	ready func(runtime.Object) bool
	marks map[string]func(runtime.Object) bool

	mu      sync.Mutex
	state   State
	waiters []*waiter
	err     error
	done    chan struct{}
}

type lister func(ctx context.Context) (runtime.Object, error)
type watcher func(ctx context.Context, rv string) (watch.Interface, error)

// newTracker lists, then watches from the list's resource version until ctx
// ends, restarting the watch from the last version it saw if it closes.
func newTracker(ctx context.Context, list lister, watchFrom watcher, ready func(runtime.Object) bool, marks map[string]func(runtime.Object) bool) (*Tracker, error) {
	t := &Tracker{
		ready: ready,
		marks: marks,
		state: State{objs: map[string]runtime.Object{}, added: map[string]time.Time{}, readyAt: map[string]time.Time{}, marked: map[string]map[string]time.Time{}},
		done:  make(chan struct{}),
	}
	l, err := list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	items, err := meta.ExtractList(l)
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	now := time.Now()
	for _, o := range items {
		t.apply(watch.Added, o, now)
	}
	la, err := meta.ListAccessor(l)
	if err != nil {
		return nil, fmt.Errorf("list meta: %w", err)
	}
	rv := la.GetResourceVersion()
	w, err := watchFrom(ctx, rv)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	go t.run(ctx, w, rv, watchFrom)
	return t, nil
}

func (t *Tracker) run(ctx context.Context, w watch.Interface, rv string, watchFrom watcher) {
	defer close(t.done)
	for {
		for ev := range w.ResultChan() {
			now := time.Now()
			if ev.Type == watch.Error {
				t.fail(fmt.Errorf("watch error: %v", ev.Object))
				w.Stop()
				return
			}
			if a, err := meta.Accessor(ev.Object); err == nil {
				rv = a.GetResourceVersion()
			}
			t.apply(ev.Type, ev.Object, now)
		}
		w.Stop()
		if ctx.Err() != nil {
			return
		}
		var err error
		if w, err = watchFrom(ctx, rv); err != nil {
			t.fail(fmt.Errorf("rewatch from %s: %w", rv, err))
			return
		}
	}
}

func (t *Tracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err = err
	for _, w := range t.waiters {
		close(w.at)
	}
	t.waiters = nil
}

func (t *Tracker) apply(typ watch.EventType, obj runtime.Object, now time.Time) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	name := a.GetName()
	t.mu.Lock()
	defer t.mu.Unlock()
	wasReady := false
	if old, ok := t.state.objs[name]; ok && t.ready != nil {
		wasReady = t.ready(old)
	}
	switch typ {
	case watch.Added, watch.Modified:
		t.state.objs[name] = obj
		if t.ready != nil && t.ready(obj) != wasReady {
			if wasReady {
				t.state.nReady--
			} else {
				t.state.nReady++
			}
		}
		if _, ok := t.state.added[name]; !ok {
			t.state.added[name] = now
		}
		if _, ok := t.state.readyAt[name]; !ok && t.ready != nil && t.ready(obj) {
			t.state.readyAt[name] = now
		}
		for mark, holds := range t.marks {
			m := t.state.marked[mark]
			if m == nil {
				m = map[string]time.Time{}
				t.state.marked[mark] = m
			}
			if _, ok := m[name]; !ok && holds(obj) {
				m[name] = now
			}
		}
	case watch.Deleted:
		if _, ok := t.state.objs[name]; ok && wasReady {
			t.state.nReady--
		}
		delete(t.state.objs, name)
	default:
		return
	}
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		if w.cond(&t.state) {
			w.at <- now
			continue
		}
		kept = append(kept, w)
	}
	t.waiters = kept
}

// ErrBound is the error of a wait that reached its bound.
var ErrBound = errors.New("bound reached")

// WaitUntil returns the arrival time of the event after which cond first
// held (now, if it holds already), or an error after bound.
func (t *Tracker) WaitUntil(ctx context.Context, bound time.Duration, cond func(*State) bool) (time.Time, error) {
	w := &waiter{cond: cond, at: make(chan time.Time, 1)}
	t.mu.Lock()
	if t.err != nil {
		err := t.err
		t.mu.Unlock()
		return time.Time{}, err
	}
	if cond(&t.state) {
		t.mu.Unlock()
		return time.Now(), nil
	}
	t.waiters = append(t.waiters, w)
	t.mu.Unlock()
	select {
	case at, ok := <-w.at:
		if !ok {
			t.mu.Lock()
			defer t.mu.Unlock()
			return time.Time{}, t.err
		}
		return at, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-time.After(bound):
		t.mu.Lock()
		defer t.mu.Unlock()
		for i, x := range t.waiters {
			if x == w {
				t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
				break
			}
		}
		return time.Time{}, fmt.Errorf("%w: condition not met within %s (%d objects)", ErrBound, bound, len(t.state.objs))
	}
}

// Snapshot copies the per-object times.
func (t *Tracker) Snapshot() (added, readyAt map[string]time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	added = make(map[string]time.Time, len(t.state.added))
	readyAt = make(map[string]time.Time, len(t.state.readyAt))
	for k, v := range t.state.added {
		added[k] = v
	}
	for k, v := range t.state.readyAt {
		readyAt[k] = v
	}
	return added, readyAt
}

func PodReady(o runtime.Object) bool {
	p, ok := o.(*corev1.Pod)
	if !ok || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TrackPods follows the pods of namespace ns.
func TrackPods(ctx context.Context, cs kubernetes.Interface, ns string) (*Tracker, error) {
	pods := cs.CoreV1().Pods(ns)
	return newTracker(ctx,
		func(ctx context.Context) (runtime.Object, error) { return pods.List(ctx, metav1.ListOptions{}) },
		func(ctx context.Context, rv string) (watch.Interface, error) {
			return pods.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: false})
		},
		PodReady, podMarks)
}

// podMarks are the steps of a pod on its way to Ready, logged per step.
var podMarks = map[string]func(runtime.Object) bool{
	"scheduled": func(o runtime.Object) bool { p, ok := o.(*corev1.Pod); return ok && p.Spec.NodeName != "" },
	"running": func(o runtime.Object) bool {
		p, ok := o.(*corev1.Pod)
		return ok && p.Status.Phase == corev1.PodRunning
	},
}

// StepLatencies is, for pods that reached Ready, p50/p99 of create →
// scheduled, scheduled → Running and Running → Ready, as text.
func StepLatencies(t *Tracker) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sched, run, ready Durations
	for name, r := range t.state.readyAt {
		a, s, u := t.state.added[name], t.state.marked["scheduled"][name], t.state.marked["running"][name]
		if a.IsZero() || s.IsZero() || u.IsZero() {
			continue
		}
		sched = append(sched, s.Sub(a))
		run = append(run, u.Sub(s))
		ready = append(ready, r.Sub(u))
	}
	f := func(d Durations) string {
		return fmt.Sprintf("p50 %.3fs p99 %.3fs", d.Quantile(0.5).Seconds(), d.Quantile(0.99).Seconds())
	}
	return fmt.Sprintf("%d pods: created→scheduled %s; scheduled→Running %s; Running→Ready %s", len(ready), f(sched), f(run), f(ready))
}

// TrackClaims follows the PersistentVolumeClaims of namespace ns; "ready"
// is Bound.
func TrackClaims(ctx context.Context, cs kubernetes.Interface, ns string) (*Tracker, error) {
	claims := cs.CoreV1().PersistentVolumeClaims(ns)
	return newTracker(ctx,
		func(ctx context.Context) (runtime.Object, error) { return claims.List(ctx, metav1.ListOptions{}) },
		func(ctx context.Context, rv string) (watch.Interface, error) {
			return claims.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		},
		func(o runtime.Object) bool {
			c, ok := o.(*corev1.PersistentVolumeClaim)
			return ok && c.Status.Phase == corev1.ClaimBound
		}, map[string]func(runtime.Object) bool{
			"selected-node": func(o runtime.Object) bool {
				c, ok := o.(*corev1.PersistentVolumeClaim)
				return ok && c.Annotations["volume.kubernetes.io/selected-node"] != ""
			},
		})
}

// ClaimLatencies is, for claims that were bound, p50/p99 of create → node
// selected (by the scheduler) and node selected → Bound, as text.
func ClaimLatencies(t *Tracker) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sel, bound Durations
	for name, r := range t.state.readyAt {
		a, s := t.state.added[name], t.state.marked["selected-node"][name]
		if a.IsZero() || s.IsZero() {
			continue
		}
		sel = append(sel, s.Sub(a))
		bound = append(bound, r.Sub(s))
	}
	f := func(d Durations) string {
		return fmt.Sprintf("p50 %.3fs p99 %.3fs", d.Quantile(0.5).Seconds(), d.Quantile(0.99).Seconds())
	}
	return fmt.Sprintf("%d claims: created→node selected %s; node selected→Bound %s", len(bound), f(sel), f(bound))
}

// TrackSets follows the StatefulSets of namespace ns.
func TrackSets(ctx context.Context, cs kubernetes.Interface, ns string) (*Tracker, error) {
	sets := cs.AppsV1().StatefulSets(ns)
	return newTracker(ctx,
		func(ctx context.Context) (runtime.Object, error) { return sets.List(ctx, metav1.ListOptions{}) },
		func(ctx context.Context, rv string) (watch.Interface, error) {
			return sets.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		},
		nil, nil)
}

func NodeReady(o runtime.Object) bool {
	n, ok := o.(*corev1.Node)
	if !ok {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TrackNodes follows the cluster's nodes.
func TrackNodes(ctx context.Context, cs kubernetes.Interface) (*Tracker, error) {
	nodes := cs.CoreV1().Nodes()
	return newTracker(ctx,
		func(ctx context.Context) (runtime.Object, error) { return nodes.List(ctx, metav1.ListOptions{}) },
		func(ctx context.Context, rv string) (watch.Interface, error) {
			return nodes.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		},
		NodeReady, nil)
}

// NodesReady is true when want nodes are Ready.
func NodesReady(want int) func(*State) bool {
	return func(s *State) bool {
		n := 0
		for _, o := range s.objs {
			if NodeReady(o) {
				n++
			}
		}
		return n >= want
	}
}

// ReadyPods counts live pods that are Ready (s is a pod tracker's).
func ReadyPods(s *State) int { return s.nReady }

// Ready counts the live objects for which the tracker's ready holds.
func (s *State) Ready() int { return s.nReady }

// AllReady is true when want pods are Ready.
func AllReady(want int) func(*State) bool {
	return func(s *State) bool { return ReadyPods(s) >= want }
}

// NoPods is true when no pod is left.
func NoPods(s *State) bool { return len(s.objs) == 0 }

// RolledOut is kubectl rollout status's rule for a StatefulSet without a
// partition: the controller saw the latest spec, every replica is ready and
// updated, and the current revision is the update revision.
func RolledOut(name string, generation int64) func(*State) bool {
	return func(s *State) bool {
		o, ok := s.objs[name].(*appsv1.StatefulSet)
		if !ok || o.Status.ObservedGeneration < generation {
			return false
		}
		want := int32(1)
		if o.Spec.Replicas != nil {
			want = *o.Spec.Replicas
		}
		return o.Status.ReadyReplicas >= want && o.Status.UpdatedReplicas >= want &&
			o.Status.UpdateRevision != "" && o.Status.CurrentRevision == o.Status.UpdateRevision
	}
}
