package replicaset

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func replicaSet(n int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": "web"}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "rs-uid", Generation: 2},
		Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}},
	}
}

// pod is a pod of rs on node ("" unscheduled), Running and Ready since
// readyAgo when readyAgo > 0.
func pod(name string, rs *appsv1.ReplicaSet, node string, readyAgo time.Duration) *corev1.Pod {
	p := podFromTemplate(rs)
	p.Name, p.UID, p.CreationTimestamp = name, types.UID(name), metav1.NewTime(now.Add(-time.Hour))
	p.Spec.NodeName = node
	p.Status.Phase = corev1.PodPending
	if readyAgo > 0 {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-readyAgo))}}
	}
	return p
}

type fixture struct {
	c      *Controller
	client *fake.Clientset
	f      informers.SharedInformerFactory
}

func newFixture(t *testing.T, rs *appsv1.ReplicaSet, pods ...*corev1.Pod) *fixture {
	t.Helper()
	client := fake.NewClientset(rs)
	// The fake names no generateName; name them as the API server would.
	n := 0
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" {
			n++
			p.Name = fmt.Sprintf("%s%d", p.GenerateName, n)
		}
		return false, nil, nil
	})
	for _, p := range pods {
		if _, err := client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), record.NewFakeRecorder(100), clocktesting.NewFakePassiveClock(now), 1)
	if err := f.Apps().V1().ReplicaSets().Informer().GetStore().Add(rs); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if err := f.Core().V1().Pods().Informer().GetStore().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{c: c, client: client, f: f}
}

func (fx *fixture) pods(t *testing.T) []corev1.Pod {
	t.Helper()
	list, err := fx.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestCreatesOnceUntilObserved: a sync creates the missing pods from the
// template; the next sync, before the informer has shown them, creates
// none; once they are seen the status counts them.
func TestCreatesOnceUntilObserved(t *testing.T) {
	ctx := context.Background()
	rs := replicaSet(3)
	fx := newFixture(t, rs)
	for range 2 {
		if _, err := fx.c.reconcile(ctx, "default/web"); err != nil {
			t.Fatal(err)
		}
	}
	pods := fx.pods(t)
	if len(pods) != 3 {
		t.Fatalf("%d pods created, want 3", len(pods))
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if p.GenerateName != "web-" || p.Labels["app"] != "web" || ref == nil || ref.UID != rs.UID || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %+v", p.ObjectMeta)
		}
	}
	for i := range pods {
		p := &pods[i]
		fx.c.podChanged(nil, p)
		if err := fx.f.Core().V1().Pods().Informer().GetStore().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.c.reconcile(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	got, err := fx.client.AppsV1().ReplicaSets("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Status; s.Replicas != 3 || s.FullyLabeledReplicas != 3 || s.ReadyReplicas != 0 || s.ObservedGeneration != 2 {
		t.Errorf("status %+v", s)
	}
	if n := len(fx.pods(t)); n != 3 {
		t.Errorf("%d pods after the informer caught up, want 3", n)
	}
}

// TestScaleDownOrder: the extra pods go in kube's order — unscheduled,
// then pending, then not ready, then the ones doubled up on a node, then
// the ones ready for less time.
func TestScaleDownOrder(t *testing.T) {
	rs := replicaSet(1)
	pods := []*corev1.Pod{
		pod("old-alone", rs, "n2", 10*time.Hour),
		pod("unscheduled", rs, "", 0),
		pod("pending", rs, "n1", 0),
		pod("doubled-young", rs, "n1", time.Minute),
		pod("doubled-old", rs, "n1", 10*time.Hour),
	}
	notReady := pod("not-ready", rs, "n3", 0)
	notReady.Status.Phase = corev1.PodRunning
	pods = append(pods, notReady)
	order := names(podsToDelete(pods, pods, len(pods)-1, now))
	want := []string{"unscheduled", "pending", "not-ready", "doubled-young", "doubled-old"}
	if !slices.Equal(order, want) {
		t.Errorf("deletion order %v, want %v", order, want)
	}

	// Through a sync: the unscheduled one is deleted first.
	fx := newFixture(t, rs, pods[0], pods[1])
	if _, err := fx.c.reconcile(context.Background(), "default/web"); err != nil {
		t.Fatal(err)
	}
	if left := fx.pods(t); len(left) != 1 || left[0].Name != "old-alone" {
		t.Errorf("pods left %v", left)
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// TestReplicaFailureCondition: a failed creation sets ReplicaFailure
// FailedCreate; a sync without failure removes it.
func TestReplicaFailureCondition(t *testing.T) {
	rs := replicaSet(2)
	s := computeStatus(rs, nil, context.DeadlineExceeded, now)
	if len(s.Conditions) != 1 || s.Conditions[0].Reason != "FailedCreate" || s.Conditions[0].Status != corev1.ConditionTrue {
		t.Fatalf("conditions %+v", s.Conditions)
	}
	rs.Status = s
	if s := computeStatus(rs, nil, nil, now); s.Conditions != nil {
		t.Errorf("conditions after success %+v", s.Conditions)
	}
}

// TestAvailableAfterMinReadySeconds: a pod ready for less than
// minReadySeconds is ready but not available.
func TestAvailableAfterMinReadySeconds(t *testing.T) {
	rs := replicaSet(2)
	rs.Spec.MinReadySeconds = 30
	s := computeStatus(rs, []*corev1.Pod{pod("a", rs, "n", time.Minute), pod("b", rs, "n", 10*time.Second)}, nil, now)
	if s.ReadyReplicas != 2 || s.AvailableReplicas != 1 {
		t.Errorf("status %+v", s)
	}
}
