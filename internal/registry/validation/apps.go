package validation

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateStatefulSet validates a StatefulSet on create: name a DNS-1123
// label, the spec rules of kube 1.37 including the pod template validated as
// a pod template (claim volumes injected) and each volumeClaimTemplate as a
// claim.
func ValidateStatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	errs := validateObjectMeta(&ss.ObjectMeta, true, nameIsDNSLabel)
	specPath := field.NewPath("spec")
	errs = append(errs, validateStatefulSetSpec(&ss.Spec, specPath)...)
	if ss.Spec.ServiceName != "" {
		errs = append(errs, dns1123Label(ss.Spec.ServiceName, specPath.Child("serviceName"))...)
	}
	errs = append(errs, validateStatefulSetTemplateSpec(&ss.Spec, specPath)...)
	errs = append(errs, validateVolumeClaimTemplates(ss.Spec.VolumeClaimTemplates, specPath.Child("volumeClaimTemplates"))...)
	return errs
}

// ValidateStatefulSetUpdate validates a StatefulSet update. The name is not
// re-validated; selector, volumeClaimTemplates, serviceName and
// podManagementPolicy are immutable, each refused with its own "field is
// immutable" error as kube 1.37 does. The template and claim templates are validated
// in full only when they changed (ratcheting), so an object stored before a
// rule existed can still be updated.
func ValidateStatefulSetUpdate(newSS, oldSS *appsv1.StatefulSet) field.ErrorList {
	errs := validateObjectMetaUpdate(&newSS.ObjectMeta, &oldSS.ObjectMeta)
	specPath := field.NewPath("spec")
	errs = append(errs, validateStatefulSetSpec(&newSS.Spec, specPath)...)
	if !equality.Semantic.DeepEqual(newSS.Spec.Template, oldSS.Spec.Template) ||
		!equality.Semantic.DeepEqual(newSS.Spec.VolumeClaimTemplates, oldSS.Spec.VolumeClaimTemplates) {
		errs = append(errs, validateStatefulSetTemplateSpec(&newSS.Spec, specPath)...)
	}
	if !equality.Semantic.DeepEqual(newSS.Spec.VolumeClaimTemplates, oldSS.Spec.VolumeClaimTemplates) {
		errs = append(errs, validateVolumeClaimTemplates(newSS.Spec.VolumeClaimTemplates, specPath.Child("volumeClaimTemplates"))...)
	}

	// Kube 1.37 (ValidateStatefulSetUpdate) names each immutable field; every
	// other spec field (replicas, ordinals, template, updateStrategy,
	// revisionHistoryLimit, persistentVolumeClaimRetentionPolicy,
	// minReadySeconds) may change. Claim templates compare with their
	// apiVersion and kind normalised by defaulting, so a chart's unchanged
	// templates are equal to the stored ones.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newSS.Spec.Selector, oldSS.Spec.Selector, specPath.Child("selector"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newSS.Spec.VolumeClaimTemplates, oldSS.Spec.VolumeClaimTemplates, specPath.Child("volumeClaimTemplates"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newSS.Spec.ServiceName, oldSS.Spec.ServiceName, specPath.Child("serviceName"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newSS.Spec.PodManagementPolicy, oldSS.Spec.PodManagementPolicy, specPath.Child("podManagementPolicy"))...)
	return errs
}

// ValidateStatefulSetStatusUpdate validates a write to statefulsets/status.
func ValidateStatefulSetStatusUpdate(newSS, oldSS *appsv1.StatefulSet) field.ErrorList {
	statusPath := field.NewPath("status")
	errs := validateStatefulSetStatus(&newSS.Status, statusPath)
	errs = append(errs, validateObjectMetaUpdate(&newSS.ObjectMeta, &oldSS.ObjectMeta)...)
	if o, n := oldSS.Status.CollisionCount, newSS.Status.CollisionCount; o != nil && (n == nil || *n < *o) {
		value := int32(0)
		if n != nil {
			value = *n
		}
		errs = append(errs, field.Invalid(statusPath.Child("collisionCount"), value, "cannot be decremented"))
	}
	return errs
}

func int32Value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func validateStatefulSetSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}

	switch spec.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(fldPath.Child("updateStrategy"), ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(fldPath.Child("updateStrategy", "rollingUpdate"), spec.UpdateStrategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			errs = append(errs, validateRollingUpdateStatefulSet(ru, fldPath.Child("updateStrategy", "rollingUpdate"))...)
		}
	default:
		errs = append(errs, field.Invalid(fldPath.Child("updateStrategy"), spec.UpdateStrategy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}

	if pol := spec.PersistentVolumeClaimRetentionPolicy; pol != nil {
		p := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateRetentionPolicyType(pol.WhenDeleted, p.Child("whenDeleted"))...)
		errs = append(errs, validateRetentionPolicyType(pol.WhenScaled, p.Child("whenScaled"))...)
	}

	errs = append(errs, nonNegative(int64(int32Value(spec.Replicas)), fldPath.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(int64(spec.Ordinals.Start), fldPath.Child("ordinals.start"))...)
	}

	if spec.Selector == nil {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
		if len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for statefulset"))
		}
	}

	tmplPath := fldPath.Child("template")
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, ""))
	} else {
		if !selector.Empty() && !selector.Matches(labels.Set(spec.Template.Labels)) {
			errs = append(errs, field.Invalid(tmplPath.Child("metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
		}
		errs = append(errs, metav1validation.ValidateLabels(spec.Template.Labels, tmplPath.Child("labels"))...)
		errs = append(errs, apimachineryvalidation.ValidateAnnotations(spec.Template.Annotations, tmplPath.Child("annotations"))...)
	}

	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tmplPath.Child("spec", "restartPolicy"), spec.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tmplPath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	return errs
}

// validateStatefulSetTemplateSpec validates the pod template's spec as a pod
// spec, with a persistentVolumeClaim volume injected for every claim template
// that no volume of the template already names, so mounts of claim templates
// resolve. restartPolicy and activeDeadlineSeconds are reported by the
// StatefulSet rules and not repeated here.
func validateStatefulSetTemplateSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path) field.ErrorList {
	podSpec := spec.Template.Spec.DeepCopy()
	have := map[string]bool{}
	for _, v := range podSpec.Volumes {
		have[v.Name] = true
	}
	for _, vct := range spec.VolumeClaimTemplates {
		if have[vct.Name] {
			continue
		}
		have[vct.Name] = true
		podSpec.Volumes = append(podSpec.Volumes, corev1.Volume{
			Name:         vct.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vct.Name}},
		})
	}
	podSpec.RestartPolicy = corev1.RestartPolicyAlways
	podSpec.ActiveDeadlineSeconds = nil
	specPath := fldPath.Child("template", "spec")
	errs := ValidatePodSpec(podSpec, specPath)
	if len(podSpec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

func validateVolumeClaimTemplates(vcts []corev1.PersistentVolumeClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range vcts {
		// Claim template names are checked as the names of the volumes
		// injected into the pod template (validateStatefulSetTemplateSpec).
		errs = append(errs, ValidatePersistentVolumeClaimSpec(&vcts[i].Spec, fldPath.Index(i).Child("spec"))...)
	}
	return errs
}

func validateRetentionPolicyType(t appsv1.PersistentVolumeClaimRetentionPolicyType, p *field.Path) field.ErrorList {
	switch t {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, t, []string{
		string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}

func validateRollingUpdateStatefulSet(ru *appsv1.RollingUpdateStatefulSetStrategy, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(int64(int32Value(ru.Partition)), fldPath.Child("partition"))
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		mu := *ru.MaxUnavailable
		errs = append(errs, validatePositiveIntOrPercent(mu, p)...)
		if intOrPercentValue(mu) == 0 {
			errs = append(errs, field.Invalid(p, mu, "cannot be 0"))
		}
		errs = append(errs, notMoreThan100Percent(mu, p)...)
	}
	return errs
}

func validatePositiveIntOrPercent(v intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(p, v, msg))
		}
	case intstr.Int:
		errs = append(errs, nonNegative(int64(v.IntValue()), p)...)
	default:
		errs = append(errs, field.Invalid(p, v, "must be an integer or percentage (e.g '5%')"))
	}
	return errs
}

// notMoreThan100Percent is kube's IsNotMoreThan100Percent: a valid
// percentage above 100% is refused; integers are not its concern.
func notMoreThan100Percent(v intstr.IntOrString, p *field.Path) field.ErrorList {
	if n, isPercent := percentValue(v); isPercent && n > 100 {
		return field.ErrorList{field.Invalid(p, v, "must not be greater than 100%")}
	}
	return nil
}

func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	return n, true
}

func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

func validateStatefulSetStatus(s *appsv1.StatefulSetStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.CurrentReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("currentReplicas"), s.CurrentReplicas, msg))
	}
	if s.UpdatedReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return errs
}

// ValidateControllerRevision validates a ControllerRevision on create.
func ValidateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := validateObjectMeta(&cr.ObjectMeta, true, nameIsDNSSubdomain)
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	errs = append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
	return errs
}

// ValidateControllerRevisionUpdate validates an update: data is immutable.
func ValidateControllerRevisionUpdate(newCR, oldCR *appsv1.ControllerRevision) field.ErrorList {
	errs := validateObjectMetaUpdate(&newCR.ObjectMeta, &oldCR.ObjectMeta)
	errs = append(errs, ValidateControllerRevision(newCR)...)
	errs = append(errs, immutable(newCR.Data, oldCR.Data, field.NewPath("data"))...)
	return errs
}
