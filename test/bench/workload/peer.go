package workload

// The workloads of /work/shared/bench/peer.md, each timed from the client-go
// call to the watch event that makes its condition true.

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Result is one timed workload: its duration, a line of per-step latencies
// for the log, and when each pod turned Ready, from the start (sorted; for
// the pods-Ready-over-time plot).
type Result struct {
	Took    time.Duration
	Detail  string
	ReadyAt []time.Duration
	// Rollout is W6's second phase: patch of every set → all rolled out.
	Rollout time.Duration
}

// readyTimeline is, for pods of t that turned Ready after t0, the time from
// t0, sorted.
func readyTimeline(t *Tracker, t0 time.Time) []time.Duration {
	_, ready := t.Snapshot()
	var out []time.Duration
	for _, at := range ready {
		if !at.Before(t0) {
			out = append(out, at.Sub(t0))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// W1 creates the seed's headless Service and a 3-replica OrderedReady kubia
// set in ns (a fresh namespace) and times until the third pod is Ready.
func W1(ctx context.Context, cs kubernetes.Interface, m Manifests, ns string, bound time.Duration) (Result, error) {
	pods, err := TrackPods(ctx, cs, ns)
	if err != nil {
		return Result{}, err
	}
	claims, err := TrackClaims(ctx, cs, ns)
	if err != nil {
		return Result{}, err
	}
	t0 := time.Now()
	if err := CreateKubia(ctx, cs, ns, m.ServiceCopy(), m.KubiaSet("kubia", 3, appsv1.OrderedReadyPodManagement)); err != nil {
		return Result{}, err
	}
	at, err := pods.WaitUntil(ctx, bound, AllReady(3))
	if err != nil {
		return Result{}, fmt.Errorf("W1: %w", err)
	}
	return Result{Took: at.Sub(t0), Detail: StepLatencies(pods) + "; " + ClaimLatencies(claims), ReadyAt: readyTimeline(pods, t0)}, nil
}

// ParallelSet is the one set of W2, W4 and W5: kubia of 100, Parallel, in
// one namespace, with trackers of its pods, claims and itself.
type ParallelSet struct {
	cs                 kubernetes.Interface
	m                  Manifests
	ns                 string
	pods, claims, sets *Tracker
	bound              time.Duration
	created            bool
	rollouts           int
}

// NewParallelSet starts the trackers in ns (an existing namespace); bound
// limits each wait.
func NewParallelSet(ctx context.Context, cs kubernetes.Interface, m Manifests, ns string, bound time.Duration) (*ParallelSet, error) {
	s := &ParallelSet{cs: cs, m: m, ns: ns, bound: bound}
	var err error
	if s.pods, err = TrackPods(ctx, cs, ns); err != nil {
		return nil, err
	}
	if s.claims, err = TrackClaims(ctx, cs, ns); err != nil {
		return nil, err
	}
	if s.sets, err = TrackSets(ctx, cs, ns); err != nil {
		return nil, err
	}
	return s, nil
}

// Pods is the tracker of the set's pods.
func (s *ParallelSet) Pods() *Tracker { return s.pods }

// W2 creates the headless Service and the set of n (first call), or scales
// it from 0 to n (later calls), and times until n pods are Ready.
func (s *ParallelSet) W2(ctx context.Context, n int) (Result, error) {
	if s.created {
		return s.ScaleTo(ctx, n)
	}
	t0 := time.Now()
	if err := CreateKubia(ctx, s.cs, s.ns, s.m.ServiceCopy(), s.m.KubiaSet("kubia", int32(n), appsv1.ParallelPodManagement)); err != nil {
		return Result{}, err
	}
	s.created = true
	at, err := s.pods.WaitUntil(ctx, s.bound, AllReady(n))
	if err != nil {
		return Result{}, fmt.Errorf("W2: %w", err)
	}
	lat := PodLatencies(s.pods)
	detail := fmt.Sprintf("pod create→Ready p50 %.3fs p99 %.3fs; %s; %s", lat.Quantile(0.5).Seconds(), lat.Quantile(0.99).Seconds(), StepLatencies(s.pods), ClaimLatencies(s.claims))
	return Result{Took: at.Sub(t0), Detail: detail, ReadyAt: readyTimeline(s.pods, t0)}, nil
}

// ScaleTo patches the set's replicas to n and times until n pods are Ready
// (n > 0) or no pod is left (n = 0): W5 is ScaleTo(0).
func (s *ParallelSet) ScaleTo(ctx context.Context, n int) (Result, error) {
	t0 := time.Now()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	if _, err := s.cs.AppsV1().StatefulSets(s.ns).Patch(ctx, "kubia", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return Result{}, fmt.Errorf("scale to %d: %w", n, err)
	}
	cond := AllReady(n)
	if n == 0 {
		cond = NoPods
	}
	at, err := s.pods.WaitUntil(ctx, s.bound, cond)
	if err != nil {
		return Result{}, fmt.Errorf("scale to %d: %w", n, err)
	}
	return Result{Took: at.Sub(t0)}, nil
}

// W4 changes the set's image (alternating between two) and times until the
// rollout is complete as kubectl rollout status judges it.
func (s *ParallelSet) W4(ctx context.Context) (Result, error) {
	images := []string{"luksa/kubia-pet-peers", "luksa/kubia-pet"}
	image := images[s.rollouts%2]
	s.rollouts++
	t0 := time.Now()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"kubia","image":%q}]}}}}`, image)
	set, err := s.cs.AppsV1().StatefulSets(s.ns).Patch(ctx, "kubia", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return Result{}, fmt.Errorf("W4: %w", err)
	}
	at, err := s.sets.WaitUntil(ctx, s.bound, RolledOut("kubia", set.Generation))
	if err != nil {
		return Result{}, fmt.Errorf("W4: %w", err)
	}
	return Result{Took: at.Sub(t0)}, nil
}

// W3 creates sets OrderedReady sets of replicas each (one claim template,
// no Service) in ns at once and times until all their pods are Ready.
func W3(ctx context.Context, cs kubernetes.Interface, m Manifests, ns string, sets, replicas int, bound time.Duration) (Result, error) {
	pods, err := TrackPods(ctx, cs, ns)
	if err != nil {
		return Result{}, err
	}
	t0 := time.Now()
	for i := 0; i < sets; i++ {
		name := fmt.Sprintf("set-%03d", i)
		set := m.KubiaSet(name, int32(replicas), appsv1.OrderedReadyPodManagement)
		set.Spec.ServiceName = name
		if err := CreateKubia(ctx, cs, ns, nil, set); err != nil {
			return Result{}, err
		}
	}
	want := sets * replicas
	at, err := pods.WaitUntil(ctx, bound, AllReady(want))
	if err != nil {
		_, ready := pods.Snapshot()
		return Result{ReadyAt: readyTimeline(pods, t0)}, fmt.Errorf("W3: %d of %d pods Ready after %s: %w", len(ready), want, bound, err)
	}
	return Result{Took: at.Sub(t0), ReadyAt: readyTimeline(pods, t0)}, nil
}
