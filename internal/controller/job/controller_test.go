package job

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func testJob() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(int32(1)), Parallelism: ptr.To(int32(1)), BackoffLimit: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "pi", Image: "perl"}}}},
		},
		Status: batchv1.JobStatus{StartTime: &metav1.Time{Time: now.Add(-time.Minute)}},
	}
}

func failedPod(job *batchv1.Job, name string, finishedAt time.Time) *corev1.Pod {
	p := newPod(job, -1)
	p.Name, p.UID = name, types.UID("uid-"+name)
	p.Status.Phase = corev1.PodFailed
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pi", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(finishedAt)}}}}
	return p
}

// setup returns a controller over a fake clientset holding objs, its
// caches filled, on a fake clock at now.
func setup(t *testing.T, objs ...interface{ GetName() string }) (*Controller, *fake.Clientset, *clocktesting.FakeClock) {
	t.Helper()
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(now)
	c := New(client, f.Batch().V1().Jobs(), f.Core().V1().Pods(), record.NewFakeRecorder(100), clk, 1)
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *batchv1.Job:
			if _, err = client.BatchV1().Jobs(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{}); err == nil {
				err = f.Batch().V1().Jobs().Informer().GetStore().Add(o)
			}
		case *corev1.Pod:
			if _, err = client.CoreV1().Pods(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{}); err == nil {
				err = f.Core().V1().Pods().Informer().GetStore().Add(o)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return c, client, clk
}

// TestFailureBackoff: a failed pod is counted (uncounted, finalizer off,
// then failed=1) and its replacement waits the 10 s back-off from the
// failure, on the fake clock.
func TestFailureBackoff(t *testing.T) {
	ctx := context.Background()
	job := testJob()
	c, client, clk := setup(t, job, failedPod(job, "pi-a", now.Add(-4*time.Second)))
	res, err := c.reconcile(ctx, "default/pi")
	if err != nil {
		t.Fatal(err)
	}
	if res.String() != "requeue after 6s" {
		t.Errorf("result %v, want the 6 s left of the back-off", res)
	}
	got, _ := client.BatchV1().Jobs("default").Get(ctx, "pi", metav1.GetOptions{})
	if got.Status.Failed != 1 || got.Status.Active != 0 || len(got.Status.UncountedTerminatedPods.Failed) != 0 {
		t.Errorf("status %+v", got.Status)
	}
	pod, _ := client.CoreV1().Pods("default").Get(ctx, "pi-a", metav1.GetOptions{})
	if len(pod.Finalizers) != 0 {
		t.Errorf("finalizers %v", pod.Finalizers)
	}
	pods, _ := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 1 {
		t.Errorf("%d pods before the back-off ended", len(pods.Items))
	}

	// A controller whose cache shows the counted job and the pod without
	// its finalizer.
	clk.Step(6 * time.Second)
	job2 := got.DeepCopy()
	c2, client2, _ := setup(t, job2, pod)
	c2.clock = clk
	if _, err := c2.reconcile(ctx, "default/pi"); err != nil {
		t.Fatal(err)
	}
	pods, _ = client2.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 2 {
		t.Fatalf("%d pods after the back-off, want the replacement too", len(pods.Items))
	}
}

func TestBackoffLeft(t *testing.T) {
	for _, tc := range []struct {
		failed int32
		ago    time.Duration
		want   time.Duration
	}{{0, 0, 0}, {1, 0, 10 * time.Second}, {1, 4 * time.Second, 6 * time.Second}, {3, 0, 40 * time.Second}, {20, 0, 10 * time.Minute}, {2, time.Minute, -40 * time.Second}} {
		if got := backoffLeft(tc.failed, now.Add(-tc.ago), now); got != tc.want {
			t.Errorf("backoffLeft(%d, %v ago) = %v, want %v", tc.failed, tc.ago, got, tc.want)
		}
	}
}

// TestIndexedPlan: duplicates, completed and out-of-range indexes are
// excess; the missing indexes come lowest first.
func TestIndexedPlan(t *testing.T) {
	job := testJob()
	job.Spec.CompletionMode, job.Spec.Completions = ptr.To(batchv1.IndexedCompletion), ptr.To(int32(5))
	pod := func(i int32) *corev1.Pod { return newPod(job, i) }
	a, b, dup, done, out := pod(1), pod(3), pod(3), pod(0), pod(7)
	if a.Spec.Hostname != "pi-1" || a.GenerateName != "pi-1-" || a.Labels[indexKey] != "1" || a.Spec.Containers[0].Env[0].Name != indexEnv {
		t.Errorf("indexed pod %+v", a)
	}
	excess, missing := indexedPlan(job, []*corev1.Pod{a, b, dup, done, out}, []int32{0})
	if len(excess) != 3 || excess[0] != dup || excess[1] != done || excess[2] != out {
		t.Errorf("excess %v", excess)
	}
	if len(missing) != 2 || missing[0] != 2 || missing[1] != 4 {
		t.Errorf("missing %v", missing)
	}
}

// TestExpire: a finished job with ttlSecondsAfterFinished waits, then is
// deleted.
func TestExpire(t *testing.T) {
	ctx := context.Background()
	job := testJob()
	job.Spec.TTLSecondsAfterFinished = ptr.To(int32(60))
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-20 * time.Second))}}
	c, client, clk := setup(t, job)
	res, err := c.reconcile(ctx, "default/pi")
	if err != nil || res.String() != "requeue after 40s" {
		t.Fatalf("reconcile = %v, %v", res, err)
	}
	clk.Step(40 * time.Second)
	if _, err := c.reconcile(ctx, "default/pi"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.BatchV1().Jobs("default").Get(ctx, "pi", metav1.GetOptions{}); err == nil {
		t.Error("expired job still there")
	}
}
