package validation

import (
	"fmt"
	"reflect"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ephemeralContainerFields are the fields of an ephemeral container that
// may be set, as kube lists them: a debugging container has no ports,
// probes, hooks, resources or restart policy. A field added to the type
// later is refused until it is listed here.
var ephemeralContainerFields = sets.New(
	"Name", "Image", "Command", "Args", "WorkingDir", "EnvFrom", "Env",
	"VolumeMounts", "VolumeDevices", "TerminationMessagePath",
	"TerminationMessagePolicy", "ImagePullPolicy", "SecurityContext",
	"Stdin", "StdinOnce", "TTY",
)

// validateEphemeralContainers checks a pod's ephemeral containers as kube
// does: each is a valid container whose name no other container of the pod
// has, whose targetContainerName names a regular or init container, with
// only the allowed fields set and no subPath mounts.
func validateEphemeralContainers(spec *corev1.PodSpec, volNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	others := sets.New[string]()
	for _, c := range spec.Containers {
		others.Insert(c.Name)
	}
	for _, c := range spec.InitContainers {
		others.Insert(c.Name)
	}
	names := others.Clone()
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i]
		idx := fldPath.Index(i)
		c := (*corev1.Container)(&ec.EphemeralContainerCommon)
		errs = append(errs, validateContainer(c, volNames, idx)...)
		if names.Has(ec.Name) {
			errs = append(errs, field.Duplicate(idx.Child("name"), ec.Name))
		} else {
			names.Insert(ec.Name)
		}
		if ec.TargetContainerName != "" && !others.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(idx.Child("targetContainerName"), ec.TargetContainerName))
		}
		errs = append(errs, onlyAllowedFields(ec.EphemeralContainerCommon, ephemeralContainerFields, "cannot be set for an Ephemeral Container", idx)...)
		for j, m := range ec.VolumeMounts {
			if m.SubPath != "" {
				errs = append(errs, field.Forbidden(idx.Child("volumeMounts").Index(j).Child("subPath"), "cannot be set for an Ephemeral Container"))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Forbidden(idx.Child("volumeMounts").Index(j).Child("subPathExpr"), "cannot be set for an Ephemeral Container"))
			}
		}
	}
	return errs
}

// onlyAllowedFields reports, as Forbidden at the field's JSON-style name,
// every field of the struct v that is set (not its zero value) and not in
// allowed.
func onlyAllowedFields(v any, allowed sets.Set[string], msg string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if allowed.Has(f.Name) || rv.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		errs = append(errs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), msg))
	}
	return errs
}

// ValidatePodEphemeralContainersUpdate validates a write of the
// pods/ephemeralcontainers subresource (whose strategy has already kept
// everything but spec.ephemeralContainers of the stored pod): the pod stays
// valid, and an ephemeral container, once added, is neither removed nor
// changed.
func ValidatePodEphemeralContainersUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	errs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta)
	errs = append(errs, ValidatePodSpec(&newPod.Spec, field.NewPath("spec"))...)
	errs = append(errs, validatePodOnly(&newPod.Spec, field.NewPath("spec"))...)
	if _, static := oldPod.Annotations[corev1.MirrorPodAnnotationKey]; static {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}
	specPath := field.NewPath("spec", "ephemeralContainers")
	byName := make(map[string]*corev1.EphemeralContainer, len(newPod.Spec.EphemeralContainers))
	for i := range newPod.Spec.EphemeralContainers {
		byName[newPod.Spec.EphemeralContainers[i].Name] = &newPod.Spec.EphemeralContainers[i]
	}
	for _, old := range oldPod.Spec.EphemeralContainers {
		cur, ok := byName[old.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", old.Name)))
		case !equality.Semantic.DeepEqual(old, *cur):
			errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", old.Name, diff.Diff(old, *cur))))
		}
	}
	return errs
}

// validateEphemeralStateTransition refuses a status that brings a
// terminated ephemeral container back to life: ephemeral containers run
// once.
func validateEphemeralStateTransition(newStatuses, oldStatuses []corev1.ContainerStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, old := range oldStatuses {
		if old.State.Terminated == nil {
			continue
		}
		for _, cur := range newStatuses {
			if cur.Name == old.Name && cur.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}
