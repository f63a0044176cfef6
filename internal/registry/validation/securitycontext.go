package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var supportedFSGroupChangePolicies = []string{string(corev1.FSGroupChangeAlways), string(corev1.FSGroupChangeOnRootMismatch)}

func validateUserID(id *int64, p *field.Path) field.ErrorList {
	if id == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidUserID(*id) {
		errs = append(errs, field.Invalid(p, *id, msg))
	}
	return errs
}

func validateGroupID(id *int64, p *field.Path) field.ErrorList {
	if id == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidGroupID(*id) {
		errs = append(errs, field.Invalid(p, *id, msg))
	}
	return errs
}

// validatePodSecurityContext checks the user and group ids and the fsGroup
// change policy of a pod's security context.
func validatePodSecurityContext(sc *corev1.PodSecurityContext, p *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateUserID(sc.RunAsUser, p.Child("runAsUser"))...)
	errs = append(errs, validateGroupID(sc.RunAsGroup, p.Child("runAsGroup"))...)
	errs = append(errs, validateGroupID(sc.FSGroup, p.Child("fsGroup"))...)
	for i := range sc.SupplementalGroups {
		errs = append(errs, validateGroupID(&sc.SupplementalGroups[i], p.Child("supplementalGroups").Index(i))...)
	}
	if sc.FSGroupChangePolicy != nil && !sets.New(supportedFSGroupChangePolicies...).Has(string(*sc.FSGroupChangePolicy)) {
		errs = append(errs, field.NotSupported(p.Child("fsGroupChangePolicy"), *sc.FSGroupChangePolicy, supportedFSGroupChangePolicies))
	}
	return errs
}

// validateSecurityContext checks a container's security context: valid ids
// and no privileged container that forbids privilege escalation.
func validateSecurityContext(sc *corev1.SecurityContext, p *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateUserID(sc.RunAsUser, p.Child("runAsUser"))...)
	errs = append(errs, validateGroupID(sc.RunAsGroup, p.Child("runAsGroup"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if string(c) == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	return errs
}
