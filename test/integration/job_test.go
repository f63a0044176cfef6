package integration

import (
	"context"
	"fmt"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// simulatedJob is a job whose pods exit on simulated nodes as outcome says
// ("succeed" or "fail").
func simulatedJob(name, outcome string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"petset.io/simulate": outcome}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "work", Image: "busybox:1.36", Command: []string{"true"}}}},
		}},
	}
}

func waitJob(t *testing.T, c *cluster, name string, cond batchv1.JobConditionType, check func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var got *batchv1.Job
	eventually(t, fmt.Sprintf("job %s %s", name, cond), func() (bool, error) {
		j, err := c.client.BatchV1().Jobs("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = j
		for _, jc := range j.Status.Conditions {
			if jc.Type == cond && jc.Status == corev1.ConditionTrue {
				return check == nil || check(j), fmt.Errorf("status %+v", j.Status)
			}
		}
		return false, fmt.Errorf("status %+v", j.Status)
	})
	return got
}

// TestJob: the API server generates the selector and labels and defaults
// the spec; the job controller runs pods on simulated nodes to Complete
// (NonIndexed with parallelism, Indexed with hostnames and the index
// annotation), counts failures into Failed/BackoffLimitExceeded, and every
// pod loses its tracking finalizer once counted.
func TestJob(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	jobs := c.client.BatchV1().Jobs("default")

	ok := simulatedJob("ok", "succeed")
	ok.Spec.Completions, ok.Spec.Parallelism = ptr.To(int32(3)), ptr.To(int32(2))
	created, err := jobs.Create(ctx, ok, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(created.UID)
	if created.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] != uid || created.Spec.Template.Labels["job-name"] != "ok" ||
		created.Spec.Template.Labels[batchv1.JobNameLabel] != "ok" || created.Spec.Template.Labels["controller-uid"] != uid ||
		*created.Spec.BackoffLimit != 6 || *created.Spec.CompletionMode != batchv1.NonIndexedCompletion || *created.Spec.Suspend ||
		*created.Spec.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Fatalf("created job spec %+v", created.Spec)
	}
	done := waitJob(t, c, "ok", batchv1.JobComplete, func(j *batchv1.Job) bool { return j.Status.Succeeded == 3 })
	if done.Status.CompletionTime == nil || done.Status.StartTime == nil || done.Status.Active != 0 || done.Status.Failed != 0 {
		t.Errorf("complete status %+v", done.Status)
	}
	pods, err := c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + uid})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Errorf("%d pods, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		if len(p.Finalizers) != 0 || p.Status.Phase != corev1.PodSucceeded || metav1.GetControllerOf(&p).UID != created.UID {
			t.Errorf("pod %s: finalizers %v, phase %s", p.Name, p.Finalizers, p.Status.Phase)
		}
	}

	idx := simulatedJob("idx", "succeed")
	idx.Spec.Completions, idx.Spec.Parallelism = ptr.To(int32(2)), ptr.To(int32(2))
	idx.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	if _, err := jobs.Create(ctx, idx, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done = waitJob(t, c, "idx", batchv1.JobComplete, nil)
	if done.Status.CompletedIndexes != "0-1" || done.Status.Succeeded != 2 {
		t.Errorf("indexed status %+v", done.Status)
	}
	pods, err = c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=idx"})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, p := range pods.Items {
		hosts[p.Spec.Hostname+"/"+p.Annotations[batchv1.JobCompletionIndexAnnotation]] = true
	}
	if !hosts["idx-0/0"] || !hosts["idx-1/1"] {
		t.Errorf("indexed pods' hostname/index: %v", hosts)
	}

	bad := simulatedJob("bad", "fail")
	bad.Spec.BackoffLimit = ptr.To(int32(0))
	if _, err := jobs.Create(ctx, bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := waitJob(t, c, "bad", batchv1.JobFailed, nil)
	var reasons []string
	for _, jc := range failed.Status.Conditions {
		reasons = append(reasons, string(jc.Type)+"/"+jc.Reason)
	}
	if failed.Status.Failed != 1 || failed.Status.Active != 0 || fmt.Sprint(reasons) != "[FailureTarget/BackoffLimitExceeded Failed/BackoffLimitExceeded]" {
		t.Errorf("failed job status %+v (conditions %v)", failed.Status, reasons)
	}

	// A running job deleted (as kubectl delete does, in the background):
	// the garbage collector deletes its pod and the job controller takes
	// the tracking finalizer off the orphan, so the pod goes.
	long := simulatedJob("long", "keep-running")
	if _, err := jobs.Create(ctx, long, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "job long has a running pod", func() (bool, error) {
		j, err := jobs.Get(ctx, "long", metav1.GetOptions{})
		return err == nil && j.Status.Ready != nil && *j.Status.Ready == 1, fmt.Errorf("%v %+v", err, j.Status)
	})
	if err := jobs.Delete(ctx, "long", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "job long's pod gone", func() (bool, error) {
		pods, err := c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=long"})
		return err == nil && len(pods.Items) == 0, fmt.Errorf("%v %d pods", err, len(pods.Items))
	})
}

// TestCronJob: a CronJob every 2 s creates jobs (named <cronjob>-<minutes>,
// owned by it) that run to Complete on simulated nodes; status tracks
// lastScheduleTime and lastSuccessfulTime; a job made from it as `kubectl
// create job --from=cronjob/…` makes one runs too.
func TestCronJob(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 1)
	ctx := context.Background()
	tmpl := simulatedJob("", "succeed")
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick"},
		Spec:       batchv1.CronJobSpec{Schedule: "@every 2s", JobTemplate: batchv1.JobTemplateSpec{Spec: tmpl.Spec}},
	}
	created, err := c.client.BatchV1().CronJobs("default").Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.ConcurrencyPolicy != batchv1.AllowConcurrent || *created.Spec.SuccessfulJobsHistoryLimit != 3 || *created.Spec.FailedJobsHistoryLimit != 1 || *created.Spec.Suspend {
		t.Errorf("defaults %+v", created.Spec)
	}
	eventually(t, "a scheduled job succeeded", func() (bool, error) {
		got, err := c.client.BatchV1().CronJobs("default").Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.LastScheduleTime != nil && got.Status.LastSuccessfulTime != nil, fmt.Errorf("status %+v", got.Status)
	})

	manual := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "tick-manual", Annotations: map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "tick", UID: created.UID, Controller: ptr.To(true)}}},
		Spec: created.Spec.JobTemplate.Spec,
	}
	if _, err := c.client.BatchV1().Jobs("default").Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, "tick-manual", batchv1.JobComplete, nil)
}
