package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"petset/internal/batchindex"
)

// Limits of kube 1.37's batch validation.
const (
	maxParallelismForIndexedJob  = 100000
	maxFailedIndexes             = 100_000
	completionsSoftLimit         = 100_000
	limitForHighCompletions      = 10_000
	maxPodFailurePolicyRules     = 20
	maxOnExitCodesValues         = 255
	maxOnPodConditionsPatterns   = 20
	maxManagedByLength           = 63
	maxSucceededIndexesLength    = 64 * 1024
	maxSuccessPolicyRules        = 20
	cronJobNameMax               = validation.DNS1035LabelMaxLength - 11
	jobNameLabelLegacy           = "job-name"
	controllerUIDLabelLegacy     = "controller-uid"
	supportedRestartPoliciesMsgF = "valid values: %q, %q"
)

var (
	podFailurePolicyActions = []string{string(batchv1.PodFailurePolicyActionCount), string(batchv1.PodFailurePolicyActionFailIndex), string(batchv1.PodFailurePolicyActionFailJob), string(batchv1.PodFailurePolicyActionIgnore)}
	onExitCodesOperators    = []string{string(batchv1.PodFailurePolicyOnExitCodesOpIn), string(batchv1.PodFailurePolicyOnExitCodesOpNotIn)}
	onPodConditionsStatuses = []string{string(corev1.ConditionFalse), string(corev1.ConditionTrue), string(corev1.ConditionUnknown)}
	podReplacementPolicies  = []string{string(batchv1.Failed), string(batchv1.TerminatingOrFailed)}
	concurrencyPolicies     = []string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}
	validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)
	cronScheduleParser      = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	jobTemplateMetadataPath = field.NewPath("spec", "template", "metadata")
)

// ValidateJob validates a Job on create as kube 1.37 does: the name a
// DNS-1123 subdomain (and, for an Indexed job, "<name>-<completions-1>" a
// DNS label, the pods' hostname), the generated selector and labels when
// manualSelector is not true, and the spec.
func ValidateJob(job *batchv1.Job) field.ErrorList {
	errs := validateObjectMeta(&job.ObjectMeta, true, nameIsDNSSubdomain)
	errs = append(errs, validateGeneratedSelector(job)...)
	errs = append(errs, validateJobSpecWithSelector(&job.Spec, false, field.NewPath("spec"))...)
	errs = append(errs, validateNameAllowsCompletions(job)...)
	return errs
}

// ValidateJobUpdate validates an update: the spec as on create, and
// selector, completionMode, podFailurePolicy, backoffLimitPerIndex,
// managedBy and successPolicy immutable; completions only changes for an
// Indexed job together with parallelism; the template is immutable unless
// the stored job is suspended and never started, when its scheduling
// directives (node affinity, node selector, tolerations, scheduling gates,
// labels and annotations) may change.
func ValidateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	errs := validateObjectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("spec")
	allowInvalid := old.Spec.Selector != nil &&
		len(metav1validation.ValidateLabelSelector(old.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	errs = append(errs, validateJobSpecWithSelector(&job.Spec, allowInvalid, p)...)
	errs = append(errs, validateCompletionsUpdate(&job.Spec, &old.Spec, p.Child("completions"))...)
	errs = append(errs, immutable(job.Spec.Selector, old.Spec.Selector, p.Child("selector"))...)
	errs = append(errs, validateJobTemplateUpdate(job, old, p.Child("template"))...)
	errs = append(errs, immutable(job.Spec.CompletionMode, old.Spec.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, immutable(job.Spec.PodFailurePolicy, old.Spec.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, immutable(job.Spec.BackoffLimitPerIndex, old.Spec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, immutable(job.Spec.ManagedBy, old.Spec.ManagedBy, p.Child("managedBy"))...)
	errs = append(errs, immutable(job.Spec.SuccessPolicy, old.Spec.SuccessPolicy, p.Child("successPolicy"))...)
	errs = append(errs, validateNameAllowsCompletions(job)...)
	return errs
}

// ValidateJobStatusUpdate validates a write to jobs/status with kube 1.37's
// strengthened transition rules, each checked only when the fields it reads
// changed (so a status made invalid by a spec change can still be fixed by
// the controller): terminal conditions never turn off, counters never
// decrease, Complete needs SuccessCriteriaMet and a completionTime, Failed
// needs FailureTarget, a finished job has no active or terminating pods and
// a startTime, ready ≤ active, index lists well formed.
func ValidateJobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	errs := validateObjectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("status")
	s, o := &job.Status, &old.Status
	errs = append(errs, nonNegative(int64(s.Active), p.Child("active"))...)
	errs = append(errs, nonNegative(int64(s.Succeeded), p.Child("succeeded"))...)
	errs = append(errs, nonNegative(int64(s.Failed), p.Child("failed"))...)
	if s.Ready != nil {
		errs = append(errs, nonNegative(int64(*s.Ready), p.Child("ready"))...)
	}
	if s.Terminating != nil {
		errs = append(errs, nonNegative(int64(*s.Terminating), p.Child("terminating"))...)
	}
	errs = append(errs, validateUncounted(s.UncountedTerminatedPods, p.Child("uncountedTerminatedPods"))...)

	complete, failed := jobCondition(s, batchv1.JobComplete), jobCondition(s, batchv1.JobFailed)
	failureTarget, criteriaMet := jobCondition(s, batchv1.JobFailureTarget), jobCondition(s, batchv1.JobSuccessCriteriaMet)
	finished := complete || failed
	oldComplete, oldFailed := jobCondition(o, batchv1.JobComplete), jobCondition(o, batchv1.JobFailed)
	oldFailureTarget, oldCriteriaMet := jobCondition(o, batchv1.JobFailureTarget), jobCondition(o, batchv1.JobSuccessCriteriaMet)

	finishedChanged := (oldComplete || oldFailed) != finished
	completeChanged, failedChanged := oldComplete != complete, oldFailed != failed
	completedIndexesChanged := o.CompletedIndexes != s.CompletedIndexes
	failedIndexesChanged := !ptr.Equal(o.FailedIndexes, s.FailedIndexes)
	activeChanged := o.Active != s.Active
	startChanged := !equality.Semantic.DeepEqual(o.StartTime, s.StartTime)
	completionChanged := !equality.Semantic.DeepEqual(o.CompletionTime, s.CompletionTime)
	invalid := func(child string, v any, msg string) { errs = append(errs, field.Invalid(p.Child(child), v, msg)) }
	conditions := field.OmitValueType{}

	if (completeChanged || failedChanged) && complete && failed {
		invalid("conditions", conditions, "cannot set Complete=True and Failed=true conditions")
	}
	if (completeChanged || oldFailureTarget != failureTarget) && complete && failureTarget {
		invalid("conditions", conditions, "cannot set Complete=True and FailureTarget=true conditions")
	}
	if (completeChanged || completionChanged) && s.CompletionTime != nil && !complete {
		invalid("completionTime", s.CompletionTime, "cannot set completionTime when there is no Complete=True condition")
	}
	if (completeChanged || completionChanged) && s.CompletionTime == nil && complete {
		errs = append(errs, field.Required(p.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if (startChanged || completionChanged) && s.StartTime != nil && s.CompletionTime != nil && s.CompletionTime.Before(s.StartTime) {
		invalid("completionTime", s.CompletionTime, "must be equal to or after `startTime`")
	}
	if (failedChanged || failedIndexesChanged) && failed && !failureTarget {
		invalid("conditions", conditions, "cannot set Failed=True condition without the FailureTarget=true condition")
	}
	if (completeChanged || oldCriteriaMet != criteriaMet) && complete && !criteriaMet {
		invalid("conditions", conditions, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition")
	}
	if (finishedChanged || activeChanged) && s.Active > 0 && finished {
		invalid("active", s.Active, "active>0 is invalid for finished job")
	}
	zeroSuspended := ptr.Deref(job.Spec.Suspend, false) && ptr.Deref(job.Spec.Completions, -1) == 0
	if (finishedChanged || startChanged) && !zeroSuspended && s.StartTime == nil && finished {
		errs = append(errs, field.Required(p.Child("startTime"), "startTime is required for finished job"))
	}
	if u := s.UncountedTerminatedPods; finished && u != nil && len(u.Failed)+len(u.Succeeded) > 0 &&
		(finishedChanged || !equality.Semantic.DeepEqual(o.UncountedTerminatedPods, u)) {
		invalid("uncountedTerminatedPods", u, "must be empty for finished job")
	}
	indexed := ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
	if completedIndexesChanged && job.Spec.Completions != nil {
		if _, err := batchindex.Parse(s.CompletedIndexes, *job.Spec.Completions); err != nil {
			invalid("completedIndexes", s.CompletedIndexes, "error parsing completedIndexes: "+err.Error())
		}
	}
	if completedIndexesChanged && s.CompletedIndexes != "" && !indexed {
		invalid("completedIndexes", s.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode")
	}
	if failedIndexesChanged && s.FailedIndexes != nil {
		if job.Spec.BackoffLimitPerIndex == nil {
			invalid("failedIndexes", *s.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null")
		} else if job.Spec.Completions != nil {
			if _, err := batchindex.Parse(*s.FailedIndexes, *job.Spec.Completions); err != nil {
				invalid("failedIndexes", s.FailedIndexes, "error parsing failedIndexes: "+err.Error())
			}
		}
	}
	if (finishedChanged || !ptr.Equal(o.Terminating, s.Terminating)) && finished && ptr.Deref(s.Terminating, 0) > 0 {
		invalid("terminating", s.Terminating, "terminating>0 is invalid for finished job")
	}
	if (activeChanged || !ptr.Equal(o.Ready, s.Ready)) && s.Ready != nil && *s.Ready > s.Active {
		invalid("ready", *s.Ready, "cannot set more ready pods than active")
	}
	if criteriaMet && failed {
		invalid("conditions", conditions, "cannot set SuccessCriteriaMet=True and Failed=true conditions")
	}
	if criteriaMet && failureTarget {
		invalid("conditions", conditions, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions")
	}
	if job.Spec.SuccessPolicy != nil && !criteriaMet && complete {
		invalid("conditions", conditions, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True")
	}

	// Transitions.
	for _, c := range []struct {
		t        batchv1.JobConditionType
		was, now bool
	}{{batchv1.JobFailed, oldFailed, failed}, {batchv1.JobComplete, oldComplete, complete}, {batchv1.JobFailureTarget, oldFailureTarget, failureTarget}} {
		if c.was && !c.now {
			invalid("conditions", conditions, fmt.Sprintf("cannot disable the terminal %s=True condition", c.t))
		}
	}
	if s.Failed < o.Failed {
		invalid("failed", s.Failed, "cannot decrease the failed counter")
	}
	scalable := indexed && ptr.Equal(job.Spec.Completions, job.Spec.Parallelism)
	if !scalable && s.Succeeded < o.Succeeded {
		invalid("succeeded", s.Succeeded, "cannot decrease the succeeded counter")
	}
	if s.CompletionTime != nil && o.CompletionTime != nil && !s.CompletionTime.Equal(o.CompletionTime) {
		invalid("completionTime", s.CompletionTime, "field is immutable")
	}
	resuming := jobConditionStatus(o, batchv1.JobSuspended) == corev1.ConditionTrue && jobConditionStatus(s, batchv1.JobSuspended) == corev1.ConditionFalse
	if startChanged && !resuming && o.StartTime != nil && !ptr.Deref(job.Spec.Suspend, false) {
		invalid("startTime", s.StartTime, "field is immutable for unsuspended job once set")
	}
	if oldCriteriaMet && !criteriaMet {
		invalid("conditions", conditions, "cannot disable the SuccessCriteriaMet=True condition")
	}
	if oldComplete && !oldCriteriaMet && criteriaMet {
		invalid("conditions", conditions, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions")
	}
	return errs
}

// ValidateCronJob validates a CronJob on create: the name a DNS-1123
// subdomain of at most 52 characters (the controller appends an 11-character
// suffix to name its jobs), and the spec.
func ValidateCronJob(cj *batchv1.CronJob) field.ErrorList {
	errs := validateObjectMeta(&cj.ObjectMeta, true, nameIsDNSSubdomain)
	errs = append(errs, validateCronJobSpec(&cj.Spec, nil, field.NewPath("spec"))...)
	if len(cj.Name) > cronJobNameMax {
		errs = append(errs, field.Invalid(metadataPath.Child("name"), cj.Name, fmt.Sprintf("must be no more than %d characters", cronJobNameMax)))
	}
	return errs
}

// ValidateCronJobUpdate validates an update: the spec as on create (a TZ in
// the schedule stays acceptable if the stored schedule had one; the time
// zone is checked only when it changed); the name length is not re-checked.
func ValidateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	errs := validateObjectMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateCronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))...)
}

// ValidateCronJobStatusUpdate validates a write to cronjobs/status: kube
// checks only the metadata.
func ValidateCronJobStatusUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	return validateObjectMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
}

// ParseCronSchedule parses a schedule as kube's controller and validation
// do: five fields or a descriptor (@hourly, @every 1h, …), with an optional
// leading TZ= or CRON_TZ=; a panic in the parser is an error.
func ParseCronSchedule(schedule string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid schedule %s: %v", schedule, r)
		}
	}()
	return cronScheduleParser.Parse(schedule)
}

func validateCronJobSpec(spec, old *batchv1.CronJobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("schedule")
	if spec.Schedule == "" {
		errs = append(errs, field.Required(sp, ""))
	} else {
		if _, err := ParseCronSchedule(spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(sp, spec.Schedule, err.Error()))
		}
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		switch {
		case allowTZ && strings.Contains(spec.Schedule, "TZ") && spec.TimeZone != nil:
			errs = append(errs, field.Invalid(sp, spec.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
		case !allowTZ && strings.Contains(spec.Schedule, "TZ"):
			errs = append(errs, field.Invalid(sp, spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*spec.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !ptr.Equal(old.TimeZone, spec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, p.Child("timeZone"))...)
	}
	switch spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(p.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("concurrencyPolicy"), spec.ConcurrencyPolicy, concurrencyPolicies))
	}
	tp := p.Child("jobTemplate", "spec")
	errs = append(errs, validateJobSpec(&spec.JobTemplate.Spec, tp)...)
	if spec.JobTemplate.Spec.Selector != nil {
		errs = append(errs, field.Invalid(tp.Child("selector"), spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	if ptr.Deref(spec.JobTemplate.Spec.ManualSelector, false) {
		errs = append(errs, field.NotSupported(tp.Child("manualSelector"), spec.JobTemplate.Spec.ManualSelector, []string{"nil", "false"}))
	}
	if spec.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.SuccessfulJobsHistoryLimit), p.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.FailedJobsHistoryLimit), p.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// validateTimeZone: nil, or a non-empty IANA name this binary can load
// other than Local, each path component of the IANA naming rules.
func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(p, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(p, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, tz, err.Error()))
	}
	return errs
}

// validateGeneratedSelector: unless manualSelector is true, the job has a
// UID, its template carries the controller-uid and job-name labels (legacy
// and batch.kubernetes.io/) with the job's UID and name, and the selector
// selects them. Kube checks this on create only.
func validateGeneratedSelector(job *batchv1.Job) field.ErrorList {
	if ptr.Deref(job.Spec.ManualSelector, false) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(metadataPath.Child("uid"), ""))
	}
	want := map[string]string{
		controllerUIDLabelLegacy: string(job.UID), jobNameLabelLegacy: job.Name,
		batchv1.ControllerUidLabel: string(job.UID), batchv1.JobNameLabel: job.Name,
	}
	keys := []string{controllerUIDLabelLegacy, jobNameLabelLegacy, batchv1.ControllerUidLabel, batchv1.JobNameLabel}
	for _, k := range keys {
		lp := jobTemplateMetadataPath.Child("labels").Key(k)
		switch v, ok := job.Spec.Template.Labels[k]; {
		case !ok:
			errs = append(errs, field.Required(lp, want[k]))
		case v != want[k]:
			errs = append(errs, field.Invalid(lp, job.Spec.Template.Labels, fmt.Sprintf("must be '%s'", want[k])))
		}
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(labels.Set(want)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// validateNameAllowsCompletions: an Indexed job's last pod hostname,
// "<name>-<completions-1>", must be a DNS label.
func validateNameAllowsCompletions(job *batchv1.Job) field.ErrorList {
	if ptr.Deref(job.Spec.CompletionMode, "") != batchv1.IndexedCompletion || ptr.Deref(job.Spec.Completions, 0) <= 0 {
		return nil
	}
	host := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
	if len(validation.IsDNS1123Label(host)) > 0 {
		return field.ErrorList{field.Invalid(metadataPath.Child("name"), job.Name, "will not able to create pod with invalid DNS label: "+host)}
	}
	return nil
}

// validateJobSpecWithSelector is the job spec with its selector: required,
// valid, and matching the template's labels.
func validateJobSpecWithSelector(spec *batchv1.JobSpec, allowInvalidLabelValue bool, p *field.Path) field.ErrorList {
	errs := validateJobSpec(spec, p)
	if spec.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, opts, p.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

// validateJobSpec is a job spec without its selector (a CronJob's job
// template has none).
func validateJobSpec(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int32
	}{{"parallelism", spec.Parallelism}, {"completions", spec.Completions}, {"backoffLimit", spec.BackoffLimit},
		{"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished}, {"backoffLimitPerIndex", spec.BackoffLimitPerIndex}, {"maxFailedIndexes", spec.MaxFailedIndexes}} {
		if f.v != nil {
			errs = append(errs, nonNegative(int64(*f.v), p.Child(f.name))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*spec.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if spec.ManagedBy != nil {
		errs = append(errs, validation.IsDomainPrefixedPath(p.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(p.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(spec, p)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, p.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
			errs = append(errs, field.Invalid(p.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(spec, p.Child("successPolicy"))...)
		}
	}
	if rp := spec.PodReplacementPolicy; rp != nil {
		if spec.PodFailurePolicy != nil && *rp != batchv1.Failed {
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *rp, []string{string(batchv1.Failed)}))
		} else if spec.PodFailurePolicy == nil && !sets.New(podReplacementPolicies...).Has(string(*rp)) {
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *rp, podReplacementPolicies))
		}
	}
	errs = append(errs, ValidatePodTemplateSpec(&spec.Template, p.Child("template"))...)
	rpPath := p.Child("template", "spec", "restartPolicy")
	switch rp := spec.Template.Spec.RestartPolicy; {
	case rp == corev1.RestartPolicyAlways || rp == "":
		errs = append(errs, field.Required(rpPath, fmt.Sprintf(supportedRestartPoliciesMsgF, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(rpPath, rp, []string{string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}))
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(rpPath, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

func validateCompletionMode(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	mode := ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion)
	switch mode {
	case batchv1.NonIndexedCompletion:
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
		return errs
	case batchv1.IndexedCompletion:
	default:
		return field.ErrorList{field.NotSupported(p.Child("completionMode"), spec.CompletionMode, []string{string(batchv1.NonIndexedCompletion), string(batchv1.IndexedCompletion)})}
	}
	if spec.Completions == nil {
		errs = append(errs, field.Required(p.Child("completions"), "when completion mode is Indexed"))
	}
	if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
		errs = append(errs, field.Invalid(p.Child("parallelism"), *spec.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxParallelismForIndexedJob)))
	}
	if mf := spec.MaxFailedIndexes; mf != nil {
		if spec.Completions != nil && *mf > *spec.Completions {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *mf, "must be less than or equal to completions"))
		}
		if *mf > maxFailedIndexes {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *mf, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexes)))
		}
	}
	if spec.Completions != nil && *spec.Completions > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
		high := fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", limitForHighCompletions, completionsSoftLimit)
		if spec.MaxFailedIndexes == nil {
			errs = append(errs, field.Required(p.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
		} else if *spec.MaxFailedIndexes > limitForHighCompletions {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, high))
		}
		if spec.Parallelism != nil && *spec.Parallelism > limitForHighCompletions {
			errs = append(errs, field.Invalid(p.Child("parallelism"), *spec.Parallelism, high))
		}
	}
	return errs
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := spec.PodFailurePolicy.Rules
	rp := p.Child("rules")
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rp, len(rules), maxPodFailurePolicyRules))
	}
	containers := sets.New[string]()
	for _, c := range append(append([]corev1.Container(nil), spec.Template.Spec.Containers...), spec.Template.Spec.InitContainers...) {
		containers.Insert(c.Name)
	}
	for i, rule := range rules {
		p := rp.Index(i)
		ap := p.Child("action")
		switch {
		case rule.Action == "":
			errs = append(errs, field.Required(ap, fmt.Sprintf("valid values: %q", podFailurePolicyActions)))
		case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
			if spec.BackoffLimitPerIndex == nil {
				errs = append(errs, field.Invalid(ap, rule.Action, "requires the backoffLimitPerIndex to be set"))
			}
		case !sets.New(podFailurePolicyActions...).Has(string(rule.Action)):
			errs = append(errs, field.NotSupported(ap, rule.Action, podFailurePolicyActions))
		}
		if ec := rule.OnExitCodes; ec != nil {
			errs = append(errs, validateOnExitCodes(ec, containers, p.Child("onExitCodes"))...)
		}
		cp := p.Child("onPodConditions")
		if len(rule.OnPodConditions) > maxOnPodConditionsPatterns {
			errs = append(errs, field.TooMany(cp, len(rule.OnPodConditions), maxOnPodConditionsPatterns))
		}
		for j, pat := range rule.OnPodConditions {
			errs = append(errs, metav1validation.ValidateLabelName(string(pat.Type), cp.Index(j).Child("type"))...)
			sp := cp.Index(j).Child("status")
			if pat.Status == "" {
				errs = append(errs, field.Required(sp, fmt.Sprintf("valid values: %q", onPodConditionsStatuses)))
			} else if !sets.New(onPodConditionsStatuses...).Has(string(pat.Status)) {
				errs = append(errs, field.NotSupported(sp, pat.Status, onPodConditionsStatuses))
			}
		}
		if rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0 {
			errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		}
		if rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0 {
			errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return errs
}

func validateOnExitCodes(ec *batchv1.PodFailurePolicyOnExitCodesRequirement, containers sets.Set[string], p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ec.Operator == "" {
		errs = append(errs, field.Required(p.Child("operator"), fmt.Sprintf("valid values: %q", onExitCodesOperators)))
	} else if !sets.New(onExitCodesOperators...).Has(string(ec.Operator)) {
		errs = append(errs, field.NotSupported(p.Child("operator"), ec.Operator, onExitCodesOperators))
	}
	if ec.ContainerName != nil && !containers.Has(*ec.ContainerName) {
		errs = append(errs, field.Invalid(p.Child("containerName"), *ec.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	vp := p.Child("values")
	if len(ec.Values) == 0 {
		errs = append(errs, field.Invalid(vp, ec.Values, "at least one value is required"))
	} else if len(ec.Values) > maxOnExitCodesValues {
		errs = append(errs, field.TooMany(vp, len(ec.Values), maxOnExitCodesValues))
	}
	seen, ordered := sets.New[int32](), true
	for j, v := range ec.Values {
		if ec.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(vp.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen.Has(v) {
			errs = append(errs, field.Duplicate(vp.Index(j), v))
		}
		seen.Insert(v)
		if j > 0 && ec.Values[j-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(vp, ec.Values, "must be ordered"))
	}
	return errs
}

func validateSuccessPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := spec.SuccessPolicy.Rules
	rp := p.Child("rules")
	if len(rules) == 0 {
		errs = append(errs, field.Required(rp, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rp, len(rules), maxSuccessPolicyRules))
	}
	completions := ptr.Deref(spec.Completions, 0)
	for i, rule := range rules {
		p := rp.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			errs = append(errs, field.Required(p, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		total := int32(0)
		if rule.SucceededIndexes != nil {
			ip := p.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(ip, "", maxSucceededIndexesLength))
			}
			idx, err := batchindex.Parse(*rule.SucceededIndexes, completions)
			if err != nil {
				errs = append(errs, field.Invalid(ip, *rule.SucceededIndexes, "error parsing succeededIndexes: "+err.Error()))
			}
			total = int32(len(idx))
		}
		if c := rule.SucceededCount; c != nil {
			cp := p.Child("succeededCount")
			errs = append(errs, nonNegative(int64(*c), cp)...)
			if *c > completions {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *c > total {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// validateCompletionsUpdate: completions is immutable for NonIndexed jobs;
// an Indexed job may change it only to equal parallelism.
func validateCompletionsUpdate(spec, old *batchv1.JobSpec, p *field.Path) field.ErrorList {
	if ptr.Deref(spec.CompletionMode, "") != batchv1.IndexedCompletion {
		return immutable(spec.Completions, old.Completions, p)
	}
	if ptr.Equal(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if !ptr.Equal(spec.Completions, spec.Parallelism) {
		return field.ErrorList{field.Invalid(p, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

func validateJobTemplateUpdate(job, old *batchv1.Job, p *field.Path) field.ErrorList {
	oldTemplate := old.Spec.Template.DeepCopy()
	if ptr.Deref(old.Spec.Suspend, false) && old.Status.StartTime == nil {
		t := &job.Spec.Template
		switch {
		case t.Spec.Affinity == nil && oldTemplate.Spec.Affinity != nil:
			oldTemplate.Spec.Affinity.NodeAffinity = nil
			if equality.Semantic.DeepEqual(*oldTemplate.Spec.Affinity, corev1.Affinity{}) {
				oldTemplate.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && oldTemplate.Spec.Affinity == nil:
			oldTemplate.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil:
			oldTemplate.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		oldTemplate.Spec.NodeSelector, oldTemplate.Spec.Tolerations = t.Spec.NodeSelector, t.Spec.Tolerations
		oldTemplate.Annotations, oldTemplate.Labels = t.Annotations, t.Labels
		oldTemplate.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	return immutable(&job.Spec.Template, oldTemplate, p)
}

func jobCondition(s *batchv1.JobStatus, t batchv1.JobConditionType) bool {
	return jobConditionStatus(s, t) == corev1.ConditionTrue
}

func jobConditionStatus(s *batchv1.JobStatus, t batchv1.JobConditionType) corev1.ConditionStatus {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func validateUncounted(u *batchv1.UncountedTerminatedPods, p *field.Path) field.ErrorList {
	if u == nil {
		return nil
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for _, list := range []struct {
		name string
		uids []string
	}{{"succeeded", uidStrings(u.Succeeded)}, {"failed", uidStrings(u.Failed)}} {
		for i, k := range list.uids {
			ip := p.Child(list.name).Index(i)
			switch {
			case k == "":
				errs = append(errs, field.Invalid(ip, k, "must not be empty"))
			case seen.Has(k):
				errs = append(errs, field.Duplicate(ip, k))
			default:
				seen.Insert(k)
			}
		}
	}
	return errs
}

func uidStrings[T ~string](uids []T) []string {
	out := make([]string, len(uids))
	for i, u := range uids {
		out[i] = string(u)
	}
	return out
}
