package defaults

import (
	"math"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestJobDefaults: kube 1.37's SetDefaults_Job, case by case.
func TestJobDefaults(t *testing.T) {
	j := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "pi"}}}}}
	Job(j)
	s := j.Spec
	if *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 6 || *s.CompletionMode != batchv1.NonIndexedCompletion ||
		*s.Suspend || *s.ManualSelector || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Errorf("defaults: %+v", s)
	}
	if j.Labels["app"] != "pi" || s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("labels %v, restartPolicy %q", j.Labels, s.Template.Spec.RestartPolicy)
	}

	work := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptrTo(int32(3)), BackoffLimitPerIndex: ptrTo(int32(1)),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}}}}}}}
	Job(work)
	if work.Spec.Completions != nil || *work.Spec.BackoffLimit != math.MaxInt32 || *work.Spec.PodReplacementPolicy != batchv1.Failed ||
		work.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status != corev1.ConditionTrue {
		t.Errorf("work queue defaults: %+v", work.Spec)
	}
}

// TestCronJobDefaults: policy, suspend, history limits; the job template
// gets no Job defaults.
func TestCronJobDefaults(t *testing.T) {
	c := &batchv1.CronJob{}
	CronJob(c)
	s := c.Spec
	if s.ConcurrencyPolicy != batchv1.AllowConcurrent || *s.Suspend || *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1 {
		t.Errorf("defaults: %+v", s)
	}
	if s.JobTemplate.Spec.BackoffLimit != nil || s.JobTemplate.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("job template: %+v", s.JobTemplate.Spec)
	}
}
