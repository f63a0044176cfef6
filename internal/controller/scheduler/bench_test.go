package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
)

// BenchmarkScheduleAttempt measures one scheduling decision (snapshot,
// filters, scores; no API calls) for a StatefulSet pod on 10 nodes, against
// the number of pods already bound (100 sets' pods, as W3 makes them).
// In the changed=1 runs a bound pod's update reaches the cache before each
// attempt, as a binding does, so one node's view is rebuilt every time.
func BenchmarkScheduleAttempt(b *testing.B) {
	for _, bound := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("bound=%d", bound), func(b *testing.B) {
			benchAttempt(b, bound, false)
		})
		b.Run(fmt.Sprintf("bound=%d/changed=1", bound), func(b *testing.B) {
			benchAttempt(b, bound, true)
		})
	}
}

func benchAttempt(b *testing.B, bound int, changed bool) {
	const nodes = 10
	var objs []runtime.Object
	for i := 0; i < nodes; i++ {
		objs = append(objs, &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("node-", i), Labels: map[string]string{"kubernetes.io/hostname": fmt.Sprint("node-", i)}},
			Status: v1.NodeStatus{
				Allocatable: v1.ResourceList{
					v1.ResourceCPU:    resource.MustParse("1000"),
					v1.ResourceMemory: resource.MustParse("4Ti"),
					v1.ResourcePods:   resource.MustParse("100000"),
				},
				Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			},
		})
	}
	setPod := func(set, ordinal int) *v1.Pod {
		yes := true
		return &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: "bench", Name: fmt.Sprintf("set%d-%d", set, ordinal),
				UID:    types.UID(fmt.Sprintf("pod-%d-%d", set, ordinal)),
				Labels: map[string]string{"app": fmt.Sprint("set", set)},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "apps/v1", Kind: "StatefulSet", Name: fmt.Sprint("set", set),
					UID: types.UID(fmt.Sprint("set-", set)), Controller: &yes,
				}},
			},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("10m"), v1.ResourceMemory: resource.MustParse("16Mi")},
			}}}},
			Status: v1.PodStatus{Phase: v1.PodRunning},
		}
	}
	var versions [2][]*v1.Pod // two objects per bound pod, set in turn
	for i := 0; i < bound; i++ {
		p := setPod(i%100, i/100)
		p.Spec.NodeName = fmt.Sprint("node-", i%nodes)
		objs = append(objs, p)
		versions[0] = append(versions[0], p)
		versions[1] = append(versions[1], p.DeepCopy())
	}
	pending := setPod(0, bound)
	pending.Status.Phase = v1.PodPending
	objs = append(objs, pending)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	s := New(ctx, client, factory, record.NewFakeRecorder(100), 1)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	key := podKey(pending)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		snap, err := s.snapshot(key)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, ni := range snap.nodes {
			n += len(ni.pods)
		}
		if len(snap.nodes) == nodes && n == bound {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the scheduler sees %d nodes and %d pods, want %d and %d", len(snap.nodes), n, nodes, bound)
		}
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if changed {
			s.cache.setPod(versions[(i/bound)%2][i%bound])
		}
		snap, err := s.snapshot(key)
		if err != nil {
			b.Fatal(err)
		}
		pv := &podVolumes{liveNodes: map[string]bool{}}
		feasible, _ := s.filter(pending, snap, pv)
		if len(feasible) != nodes {
			b.Fatalf("%d feasible nodes, want %d", len(feasible), nodes)
		}
		if pickBest(score(pending, snap, feasible)) == nil {
			b.Fatal("no node picked")
		}
	}
}
