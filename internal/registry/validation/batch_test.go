package validation

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// validJob is a job as the API server holds it after defaulting and
// selector generation.
func validJob() *batchv1.Job {
	uid := "0c8d2a5e-1111-2222-3333-444455556666"
	labels := map[string]string{"job-name": "pi", "controller-uid": uid, batchv1.JobNameLabel: "pi", batchv1.ControllerUidLabel: uid}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "0c8d2a5e-1111-2222-3333-444455556666", ResourceVersion: "1"},
		Spec: batchv1.JobSpec{
			Completions: ptrTo(int32(1)), Parallelism: ptrTo(int32(1)), BackoffLimit: ptrTo(int32(6)),
			CompletionMode: ptrTo(batchv1.NonIndexedCompletion), Suspend: ptrTo(false), ManualSelector: ptrTo(false),
			PodReplacementPolicy: ptrTo(batchv1.TerminatingOrFailed),
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid}},
			Template:             jobPodTemplate(labels),
		},
	}
}

func jobPodTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: corev1.DNSClusterFirst, TerminationGracePeriodSeconds: ptrTo(int64(30)),
			Containers: []corev1.Container{{Name: "pi", Image: "perl", ImagePullPolicy: corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile}},
		},
	}
}

// TestJob: kube 1.37's messages for the job rules.
func TestJob(t *testing.T) {
	gk := schema.GroupKind{Group: "batch", Kind: "Job"}
	cases := []struct {
		name   string
		mutate func(*batchv1.Job)
		want   []string
	}{
		{"valid", func(*batchv1.Job) {}, nil},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }, []string{
			`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{"negative counts", func(j *batchv1.Job) {
			j.Spec.BackoffLimit = ptrTo(int32(-1))
			j.Spec.ActiveDeadlineSeconds = ptrTo(int64(-5))
		}, []string{"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
			"spec.activeDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0"}},
		{"missing generated label", func(j *batchv1.Job) { delete(j.Spec.Template.Labels, "job-name") }, []string{
			"spec.template.metadata.labels[job-name]: Required value: pi"}},
		{"wrong generated label", func(j *batchv1.Job) { j.Spec.Template.Labels[batchv1.JobNameLabel] = "other" }, []string{
			"spec.template.metadata.labels[batch.kubernetes.io/job-name]: Invalid value:", "must be 'pi'"}},
		{"manual selector not matching", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptrTo(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
		}, []string{"spec.template.metadata.labels: Invalid value:", "`selector` does not match template `labels`"}},
		{"indexed needs completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, []string{"spec.completions: Required value: when completion mode is Indexed"}},
		{"indexed hostname", func(j *batchv1.Job) {
			j.Name = "a.b"
			j.Spec.Template.Labels["job-name"], j.Spec.Template.Labels[batchv1.JobNameLabel] = "a.b", "a.b"
			j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
		}, []string{`metadata.name: Invalid value: "a.b": will not able to create pod with invalid DNS label: a.b-0`}},
		{"per-index limit needs Indexed", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptrTo(int32(1)) }, []string{
			"spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"}},
		{"pod failure policy with OnFailure", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodReplacementPolicy = ptrTo(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 2, 1}}}}}
		}, []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`,
			"spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
			"spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [0,2,1]: must be ordered"}},
		{"replacement policy", func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptrTo(batchv1.PodReplacementPolicy("Always")) }, []string{
			`spec.podReplacementPolicy: Unsupported value: "Always": supported values: "Failed", "TerminatingOrFailed"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			checkErrs(t, gk, j.Name, ValidateJob(j), tc.want)
		})
	}

	t.Run("template immutable", func(t *testing.T) {
		old := validJob()
		j := old.DeepCopy()
		j.Spec.Template.Spec.Containers[0].Image = "perl:5"
		j.Spec.Parallelism = ptrTo(int32(3))
		checkErrs(t, gk, j.Name, ValidateJobUpdate(j, old), []string{"spec.template: Invalid value:", "field is immutable"})
	})
	t.Run("suspended unstarted job may change scheduling directives", func(t *testing.T) {
		old := validJob()
		old.Spec.Suspend = ptrTo(true)
		j := old.DeepCopy()
		j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
		checkErrs(t, gk, j.Name, ValidateJobUpdate(j, old), nil)
		j.Spec.Template.Spec.Containers[0].Image = "perl:5"
		checkErrs(t, gk, j.Name, ValidateJobUpdate(j, old), []string{"spec.template: Invalid value:", "field is immutable"})
	})
	t.Run("completions immutable when NonIndexed", func(t *testing.T) {
		old := validJob()
		j := old.DeepCopy()
		j.Spec.Completions = ptrTo(int32(2))
		checkErrs(t, gk, j.Name, ValidateJobUpdate(j, old), []string{"spec.completions: Invalid value: 2: field is immutable"})
	})
	t.Run("status transitions", func(t *testing.T) {
		old := validJob()
		now := metav1.Now()
		old.Status = batchv1.JobStatus{StartTime: &now, Active: 1}
		j := old.DeepCopy()
		j.Status.Active, j.Status.Succeeded = 0, 1
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		checkErrs(t, gk, j.Name, ValidateJobStatusUpdate(j, old), []string{
			"status.completionTime: Required value: completionTime is required for Complete jobs",
			"status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition"})
		j.Status.CompletionTime = &now
		j.Status.Conditions = append([]batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}}, j.Status.Conditions...)
		checkErrs(t, gk, j.Name, ValidateJobStatusUpdate(j, old), nil)
		back := old.DeepCopy()
		back.Status.Failed = 0
		done := j.DeepCopy()
		done.Status.Failed = 2
		checkErrs(t, gk, j.Name, ValidateJobStatusUpdate(back, done), []string{
			"cannot disable the terminal Complete=True condition", "status.failed: Invalid value: 0: cannot decrease the failed counter",
			"cannot disable the SuccessCriteriaMet=True condition", "status.succeeded: Invalid value: 0: cannot decrease the succeeded counter"})
	})
}

// TestCronJob: schedule syntax, time zones, the job template's rules.
func TestCronJob(t *testing.T) {
	gk := schema.GroupKind{Group: "batch", Kind: "CronJob"}
	valid := func() *batchv1.CronJob {
		return &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", ResourceVersion: "1"},
			Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", ConcurrencyPolicy: batchv1.AllowConcurrent,
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobPodTemplate(nil)}}},
		}
	}
	cases := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []string
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"descriptor", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }, nil},
		{"every", func(c *batchv1.CronJob) { c.Spec.Schedule = "@every 1h30m" }, nil},
		{"time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptrTo("Europe/Berlin") }, nil},
		{"bad schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" }, []string{`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" }, []string{
			`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`}},
		{"unknown zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptrTo("Mars/Olympus") }, []string{`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`}},
		{"Local zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptrTo("Local") }, []string{"timeZone must be an explicit time zone"}},
		{"policy", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }, []string{
			`spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`}},
		{"selector in template", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{} }, []string{
			"spec.jobTemplate.spec.selector: Invalid value:", "`selector` will be auto-generated"}},
		{"long name", func(c *batchv1.CronJob) { c.Name = "a23456789012345678901234567890123456789012345678901234" }, []string{
			"must be no more than 52 characters"}},
		{"restartPolicy", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, []string{
			`spec.jobTemplate.spec.template.spec.restartPolicy: Required value`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			checkErrs(t, gk, c.Name, ValidateCronJob(c), tc.want)
		})
	}
	t.Run("stored TZ schedule may stay", func(t *testing.T) {
		old := valid()
		old.Spec.Schedule = "TZ=UTC 0 * * * *"
		c := old.DeepCopy()
		c.Spec.Suspend = ptrTo(true)
		checkErrs(t, gk, c.Name, ValidateCronJobUpdate(c, old), nil)
	})
}
