package workload

// W6 of issue 12: many Parallel sets at once, then a rollout of all of them
// with maxUnavailable — "rehearse a big rollout on a laptop".

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// BigRollout is W6 in its two phases, on sets Parallel kubia sets of
// replicas each in one namespace, with watch trackers of their pods and
// of the sets.
type BigRollout struct {
	cs             kubernetes.Interface
	m              Manifests
	ns             string
	sets, replicas int
	bound          time.Duration
	pods, sts      *Tracker
	generations    map[string]int64
}

// NewBigRollout starts the trackers in ns (an existing namespace); bound
// limits each phase's wait.
func NewBigRollout(ctx context.Context, cs kubernetes.Interface, m Manifests, ns string, sets, replicas int, bound time.Duration) (*BigRollout, error) {
	w := &BigRollout{cs: cs, m: m, ns: ns, sets: sets, replicas: replicas, bound: bound, generations: map[string]int64{}}
	var err error
	if w.pods, err = TrackPods(ctx, cs, ns); err != nil {
		return nil, fmt.Errorf("W6: %w", err)
	}
	if w.sts, err = TrackSets(ctx, cs, ns); err != nil {
		return nil, fmt.Errorf("W6: %w", err)
	}
	return w, nil
}

// Pods is how many pods W6 runs: sets × replicas.
func (w *BigRollout) Pods() int { return w.sets * w.replicas }

func (w *BigRollout) setName(i int) string { return fmt.Sprintf("set-%03d", i) }

// Progress is how far W6 has come: pods Ready now (phase 1), and in
// phase 2 (zeros before it) the pods the sets' controllers report updated
// and the sets rolled out. Safe to call while a phase runs.
type Progress struct {
	Ready, Updated, RolledOut int
}

// Progress says how far W6 has come.
func (w *BigRollout) Progress() Progress {
	w.pods.mu.Lock()
	ready := w.pods.state.nReady
	w.pods.mu.Unlock()
	updated, rolledOut := w.rollProgress()
	return Progress{Ready: ready, Updated: updated, RolledOut: rolledOut}
}

// Create (phase 1) creates the seed's headless Service and the sets
// (Parallel, the seed's claim template, all named by the Service) and
// times until all their pods are Ready.
func (w *BigRollout) Create(ctx context.Context) (Result, error) {
	t0 := time.Now()
	svc := w.m.ServiceCopy()
	for i := 0; i < w.sets; i++ {
		set := w.m.KubiaSet(w.setName(i), int32(w.replicas), appsv1.ParallelPodManagement)
		set.Spec.ServiceName = w.m.Service.Name
		if err := CreateKubia(ctx, w.cs, w.ns, svc, set); err != nil {
			return Result{}, fmt.Errorf("W6: %w", err)
		}
		svc = nil
	}
	want := w.Pods()
	at, err := w.pods.WaitUntil(ctx, w.bound, AllReady(want))
	if err != nil {
		_, ready := w.pods.Snapshot()
		return Result{ReadyAt: readyTimeline(w.pods, t0)}, fmt.Errorf("W6: %d of %d pods Ready after %.0f s: %w", len(ready), want, time.Since(t0).Seconds(), err)
	}
	lat := PodLatencies(w.pods)
	detail := fmt.Sprintf("%d × %d: pod create→Ready p50 %.3fs p99 %.3fs; %s", w.sets, w.replicas,
		lat.Quantile(0.5).Seconds(), lat.Quantile(0.99).Seconds(), StepLatencies(w.pods))
	return Result{Took: at.Sub(t0), Detail: detail, ReadyAt: readyTimeline(w.pods, t0)}, nil
}

// Rollout (phase 2) changes every set's template (an annotation, alternating
// per call) with updateStrategy.rollingUpdate.maxUnavailable set, and times
// until every set is rolled out as kubectl rollout status judges it.
func (w *BigRollout) Rollout(ctx context.Context, maxUnavailable int) (Result, error) {
	t0 := time.Now()
	patch := fmt.Sprintf(`{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":%d}},`+
		`"template":{"metadata":{"annotations":{"bench.petset.dev/rollout":%q}}}}}`, maxUnavailable, t0.Format(time.RFC3339Nano))
	for i := 0; i < w.sets; i++ {
		name := w.setName(i)
		set, err := w.cs.AppsV1().StatefulSets(w.ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return Result{}, fmt.Errorf("W6 rollout of %s: %w", name, err)
		}
		w.sts.mu.Lock() // rollProgress reads generations under it
		w.generations[name] = set.Generation
		w.sts.mu.Unlock()
	}
	at, err := w.sts.WaitUntil(ctx, w.bound, AllRolledOut(w.generations))
	if err != nil {
		updated, rolledOut := w.rollProgress()
		return Result{}, fmt.Errorf("W6 rollout: %d of %d sets rolled out (%d of %d pods updated) after %.0f s: %w", rolledOut, w.sets, updated, w.Pods(), time.Since(t0).Seconds(), err)
	}
	return Result{Took: at.Sub(t0), Detail: fmt.Sprintf("%d sets × %d, maxUnavailable %d", w.sets, w.replicas, maxUnavailable)}, nil
}

// rollProgress counts the pods of the rollout's generation that the sets'
// status reports updated, and the sets rolled out now.
func (w *BigRollout) rollProgress() (updated, rolledOut int) {
	w.sts.mu.Lock()
	defer w.sts.mu.Unlock()
	for name, gen := range w.generations {
		if RolledOut(name, gen)(&w.sts.state) {
			rolledOut++
		}
		if o, ok := w.sts.state.objs[name].(*appsv1.StatefulSet); ok && o.Status.ObservedGeneration >= gen {
			updated += int(o.Status.UpdatedReplicas)
		}
	}
	return updated, rolledOut
}

// AllRolledOut is true when every named set is rolled out (RolledOut) at
// least at its generation.
func AllRolledOut(generations map[string]int64) func(*State) bool {
	return func(s *State) bool {
		for name, gen := range generations {
			if !RolledOut(name, gen)(s) {
				return false
			}
		}
		return true
	}
}

// W6 creates sets Parallel kubia sets of replicas in ns and times until all
// pods are Ready (Result.Took), then rolls all of them out with
// maxUnavailable and times until every set is rolled out (Result.Rollout).
func W6(ctx context.Context, cs kubernetes.Interface, m Manifests, ns string, sets, replicas, maxUnavailable int, bound time.Duration) (Result, error) {
	w, err := NewBigRollout(ctx, cs, m, ns, sets, replicas, bound)
	if err != nil {
		return Result{}, err
	}
	r, err := w.Create(ctx)
	if err != nil {
		return r, err
	}
	ro, err := w.Rollout(ctx, maxUnavailable)
	r.Rollout = ro.Took
	r.Detail += "; rollout: " + ro.Detail
	return r, err
}
