package cronjob

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var created = time.Date(2026, 12, 3, 11, 58, 30, 0, time.UTC)

func testCronJob(schedule string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{Schedule: schedule, ConcurrencyPolicy: batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr.To(int32(1)), FailedJobsHistoryLimit: ptr.To(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "hello", Image: "busybox"}}}}}}},
	}
}

// TestMostRecent: the latest missed time, within startingDeadlineSeconds,
// in the CronJob's time zone.
func TestMostRecent(t *testing.T) {
	cj := testCronJob("*/5 * * * *")
	s, err := parse(cj)
	if err != nil {
		t.Fatal(err)
	}
	now := created.Add(17 * time.Minute) // 12:15:30
	got, n := mostRecent(cj, s, now)
	if !got.Equal(time.Date(2026, 12, 3, 12, 15, 0, 0, time.UTC)) || n != 4 {
		t.Errorf("mostRecent = %v, %d", got, n)
	}
	cj.Spec.StartingDeadlineSeconds = ptr.To(int64(10))
	if got, _ := mostRecent(cj, s, now); !got.IsZero() {
		t.Errorf("past the starting deadline: %v", got)
	}
	berlin := testCronJob("0 13 * * *")
	berlin.Spec.TimeZone = ptr.To("Europe/Berlin")
	s, err = parse(berlin)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mostRecent(berlin, s, created.Add(3*time.Minute)); !got.Equal(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("13:00 Berlin = %v, want 12:00 UTC", got)
	}
}

// TestReconcile: a due time gets its job and lastScheduleTime; Forbid
// starts no second job while it is active; once it completed, the next
// time gets one and the history keeps one successful job.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	cj := testCronJob("* * * * *")
	client := fake.NewClientset(cj)
	f := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(created.Add(time.Minute)) // 11:59:30
	c := New(client, f.Batch().V1().CronJobs(), f.Batch().V1().Jobs(), record.NewFakeRecorder(100), clk, 1)
	sync := func() *batchv1.CronJob {
		t.Helper()
		cur, _ := client.BatchV1().CronJobs("default").Get(ctx, "hello", metav1.GetOptions{})
		if err := f.Batch().V1().CronJobs().Informer().GetStore().Update(cur); err != nil {
			t.Fatal(err)
		}
		jobs, _ := client.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{})
		var objs []any
		for i := range jobs.Items {
			objs = append(objs, &jobs.Items[i])
		}
		if err := f.Batch().V1().Jobs().Informer().GetStore().Replace(objs, ""); err != nil {
			t.Fatal(err)
		}
		res, err := c.reconcile(ctx, "default/hello")
		if err != nil {
			t.Fatal(err)
		}
		if res.String() == "done" {
			t.Errorf("not requeued for the next time")
		}
		got, _ := client.BatchV1().CronJobs("default").Get(ctx, "hello", metav1.GetOptions{})
		return got
	}
	got := sync()
	first := jobName(cj, time.Date(2026, 12, 3, 11, 59, 0, 0, time.UTC))
	if first != "hello-29938319" {
		t.Errorf("job name %s, want the minutes since the epoch", first)
	}
	if len(got.Status.Active) != 1 || got.Status.Active[0].Name != first || !got.Status.LastScheduleTime.Time.Equal(time.Date(2026, 12, 3, 11, 59, 0, 0, time.UTC)) {
		t.Fatalf("status %+v", got.Status)
	}
	job, err := client.BatchV1().Jobs("default").Get(ctx, first, metav1.GetOptions{})
	if err != nil || job.Annotations[batchv1.CronJobScheduledTimestampAnnotation] != "2026-12-03T11:59:00Z" || metav1.GetControllerOf(job).UID != "cj-uid" {
		t.Fatalf("job %+v, %v", job, err)
	}

	clk.Step(time.Minute)
	got = sync()
	if jobs, _ := client.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{}); len(jobs.Items) != 1 || len(got.Status.Active) != 1 {
		t.Fatalf("Forbid with an active job: %d jobs, active %v", len(jobs.Items), got.Status.Active)
	}

	for _, name := range []string{first} {
		j, _ := client.BatchV1().Jobs("default").Get(ctx, name, metav1.GetOptions{})
		end := metav1.NewTime(clk.Now())
		j.Status.StartTime, j.Status.CompletionTime = &end, &end
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		if _, err := client.BatchV1().Jobs("default").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Step(time.Minute)
	got = sync() // drops the completed job from active, starts 12:01's
	if got.Status.LastSuccessfulTime == nil || len(got.Status.Active) != 1 || got.Status.Active[0].Name == first {
		t.Fatalf("after completion: %+v", got.Status)
	}
}
