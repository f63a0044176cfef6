package validation

import (
	"encoding/json"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxSecretSize is the largest total size of a Secret's or ConfigMap's data.
const MaxSecretSize = 1 * 1024 * 1024

// ValidateNamespace validates a Namespace on create: name a DNS-1123 label,
// valid spec finalizers.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validateObjectMeta(&ns.ObjectMeta, false, nameIsDNSLabel)
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}

func validateFinalizerName(name string, p *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(name, p)
	if len(strings.Split(name, "/")) == 1 && name != string(corev1.FinalizerKubernetes) {
		errs = append(errs, field.Invalid(p, name, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

// ValidateNamespaceUpdate validates a Namespace update.
func ValidateNamespaceUpdate(newNs, oldNs *corev1.Namespace) field.ErrorList {
	return validateObjectMetaUpdate(&newNs.ObjectMeta, &oldNs.ObjectMeta)
}

// ValidateNamespaceStatusUpdate validates a write to namespaces/status: the
// phase is Active unless the namespace is being deleted, then Terminating.
func ValidateNamespaceStatusUpdate(newNs, oldNs *corev1.Namespace) field.ErrorList {
	errs := validateObjectMetaUpdate(&newNs.ObjectMeta, &oldNs.ObjectMeta)
	if newNs.DeletionTimestamp.IsZero() {
		if newNs.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(field.NewPath("status", "Phase"), newNs.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if newNs.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(field.NewPath("status", "Phase"), newNs.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// ValidateNamespaceFinalizeUpdate validates a write to namespaces/finalize.
func ValidateNamespaceFinalizeUpdate(newNs, oldNs *corev1.Namespace) field.ErrorList {
	errs := validateObjectMetaUpdate(&newNs.ObjectMeta, &oldNs.ObjectMeta)
	for i, f := range newNs.Spec.Finalizers {
		errs = append(errs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}

// ValidateNode validates a Node: name, taints (reported under
// metadata.taints, as kube does), resource quantities and pod CIDRs.
func ValidateNode(n *corev1.Node) field.ErrorList {
	errs := validateObjectMeta(&n.ObjectMeta, false, nameIsDNSSubdomain)
	taintsPath := metadataPath.Child("taints")
	seen := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range n.Spec.Taints {
		idx := taintsPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, idx.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(idx.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(idx.Child("effect"), ""))
		} else if !sets.New(supportedTaintEffects...).Has(string(t.Effect)) {
			errs = append(errs, field.NotSupported(idx.Child("effect"), t.Effect, []string{
				string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}))
		}
		if seen[t.Effect].Has(t.Key) {
			dup := field.Duplicate(idx, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = sets.New[string]()
		}
		seen[t.Effect].Insert(t.Key)
	}
	errs = append(errs, validateNodeResources(n)...)
	cidrsPath := field.NewPath("spec", "podCIDRs")
	cidrs := sets.New[string]()
	for i, c := range n.Spec.PodCIDRs {
		errs = append(errs, validation.IsValidCIDR(cidrsPath.Index(i), c)...)
		if cidrs.Has(c) {
			errs = append(errs, field.Duplicate(cidrsPath.Index(i), c))
		}
		cidrs.Insert(c)
	}
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(cidrsPath, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	return errs
}

func validateNodeResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for name, q := range n.Status.Capacity {
		errs = append(errs, quantityNonNegative(q, field.NewPath("status", "capacity", string(name)))...)
	}
	for name, q := range n.Status.Allocatable {
		errs = append(errs, quantityNonNegative(q, field.NewPath("status", "allocatable", string(name)))...)
	}
	return errs
}

// ValidateNodeUpdate validates a Node update: podCIDR(s) and providerID may
// only go from empty to set.
func ValidateNodeUpdate(newNode, oldNode *corev1.Node) field.ErrorList {
	errs := validateObjectMetaUpdate(&newNode.ObjectMeta, &oldNode.ObjectMeta)
	errs = append(errs, ValidateNode(newNode)...)
	if len(oldNode.Spec.PodCIDRs) > 0 && !equality.Semantic.DeepEqual(newNode.Spec.PodCIDRs, oldNode.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if oldNode.Spec.ProviderID != "" && newNode.Spec.ProviderID != oldNode.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

// ValidateNodeStatusUpdate validates a write to nodes/status.
func ValidateNodeStatusUpdate(newNode, oldNode *corev1.Node) field.ErrorList {
	errs := validateObjectMetaUpdate(&newNode.ObjectMeta, &oldNode.ObjectMeta)
	errs = append(errs, validateNodeResources(newNode)...)
	for i, a := range newNode.Status.Addresses {
		if a.Type == "" {
			errs = append(errs, field.Required(field.NewPath("status", "addresses").Index(i).Child("type"), ""))
		}
	}
	return errs
}

func validateDataKeys(keys []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range keys {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(p.Key(k), k, msg))
		}
	}
	return errs
}

// ValidateConfigMap validates a ConfigMap: key names, no key both in data and
// binaryData, total size at most 1 MiB.
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validateObjectMeta(&cm.ObjectMeta, true, nameIsDNSSubdomain)
	size := 0
	for k, v := range cm.Data {
		errs = append(errs, validateDataKeys([]string{k}, field.NewPath("data"))...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		size += len(v)
	}
	for k, v := range cm.BinaryData {
		errs = append(errs, validateDataKeys([]string{k}, field.NewPath("binaryData"))...)
		size += len(v)
	}
	if size > MaxSecretSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", MaxSecretSize))
	}
	return errs
}

// ValidateConfigMapUpdate validates a ConfigMap update: an immutable one may
// change neither its data nor the flag.
func ValidateConfigMapUpdate(newCM, oldCM *corev1.ConfigMap) field.ErrorList {
	errs := validateObjectMetaUpdate(&newCM.ObjectMeta, &oldCM.ObjectMeta)
	if oldCM.Immutable != nil && *oldCM.Immutable {
		if newCM.Immutable == nil || !*newCM.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !equality.Semantic.DeepEqual(newCM.Data, oldCM.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !equality.Semantic.DeepEqual(newCM.BinaryData, oldCM.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	errs = append(errs, ValidateConfigMap(newCM)...)
	return errs
}

// ValidateSecret validates a Secret: key names, total size at most 1 MiB and
// the keys each built-in type requires (other types are not checked).
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateObjectMeta(&s.ObjectMeta, true, nameIsDNSSubdomain)
	dataPath := field.NewPath("data")
	size := 0
	for k, v := range s.Data {
		errs = append(errs, validateDataKeys([]string{k}, dataPath)...)
		size += len(v)
	}
	if size > MaxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", MaxSecretSize))
	}
	has := func(k string) bool { _, ok := s.Data[k]; return ok }
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeOpaque, "":
	case corev1.SecretTypeDockercfg:
		if !has(corev1.DockerConfigKey) {
			errs = append(errs, field.Required(dataPath.Key(corev1.DockerConfigKey), ""))
		} else if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &map[string]any{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(corev1.DockerConfigKey), "<secret contents redacted>", err.Error()))
		}
	case corev1.SecretTypeDockerConfigJson:
		if !has(corev1.DockerConfigJsonKey) {
			errs = append(errs, field.Required(dataPath.Key(corev1.DockerConfigJsonKey), ""))
		} else if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &map[string]any{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(corev1.DockerConfigJsonKey), "<secret contents redacted>", err.Error()))
		}
	case corev1.SecretTypeBasicAuth:
		if !has(corev1.BasicAuthUsernameKey) && !has(corev1.BasicAuthPasswordKey) {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""))
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if !has(corev1.TLSCertKey) {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if !has(corev1.TLSPrivateKeyKey) {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// ValidateSecretUpdate validates a Secret update: type is immutable, and an
// immutable secret may change neither its data nor the flag.
func ValidateSecretUpdate(newS, oldS *corev1.Secret) field.ErrorList {
	errs := validateObjectMetaUpdate(&newS.ObjectMeta, &oldS.ObjectMeta)
	errs = append(errs, immutable(newS.Type, oldS.Type, field.NewPath("type"))...)
	if oldS.Immutable != nil && *oldS.Immutable {
		if newS.Immutable == nil || !*newS.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !equality.Semantic.DeepEqual(newS.Data, oldS.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	errs = append(errs, ValidateSecret(newS)...)
	return errs
}

// ValidateServiceAccount validates a ServiceAccount.
func ValidateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return validateObjectMeta(&sa.ObjectMeta, true, nameIsDNSSubdomain)
}

// ValidateServiceAccountUpdate validates a ServiceAccount update.
func ValidateServiceAccountUpdate(newSA, oldSA *corev1.ServiceAccount) field.ErrorList {
	errs := validateObjectMetaUpdate(&newSA.ObjectMeta, &oldSA.ObjectMeta)
	return append(errs, ValidateServiceAccount(newSA)...)
}

// ValidateEvent validates a core/v1 Event: the involved object's namespace
// must match the event's (an event about a cluster-scoped object lives in
// "default" or no namespace).
func ValidateEvent(ev *corev1.Event) field.ErrorList {
	errs := validateObjectMeta(&ev.ObjectMeta, true, nameIsDNSSubdomain)
	p := field.NewPath("involvedObject", "namespace")
	if ev.InvolvedObject.Namespace == "" {
		if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
			errs = append(errs, field.Invalid(p, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else if ev.Namespace != ev.InvolvedObject.Namespace {
		errs = append(errs, field.Invalid(p, ev.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	return errs
}

// ValidateEventUpdate validates a core/v1 Event update.
func ValidateEventUpdate(newEv, oldEv *corev1.Event) field.ErrorList {
	errs := validateObjectMetaUpdate(&newEv.ObjectMeta, &oldEv.ObjectMeta)
	return append(errs, ValidateEvent(newEv)...)
}

// ValidateEventsV1Event validates an events.k8s.io/v1 Event: the regarding
// object's namespace must match, and the fields the new events API requires
// (eventTime, reportingController, reportingInstance, action, reason, type)
// must be set.
func ValidateEventsV1Event(ev *eventsv1.Event) field.ErrorList {
	errs := validateObjectMeta(&ev.ObjectMeta, true, nameIsDNSSubdomain)
	p := field.NewPath("regarding", "namespace")
	if ev.Regarding.Namespace == "" {
		if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
			errs = append(errs, field.Invalid(p, ev.Regarding.Namespace, "does not match event.namespace"))
		}
	} else if ev.Namespace != ev.Regarding.Namespace {
		errs = append(errs, field.Invalid(p, ev.Regarding.Namespace, "does not match event.namespace"))
	}
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), ev.Type, fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	if ev.ReportingController == "" {
		errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
	} else {
		for _, msg := range validation.IsQualifiedName(ev.ReportingController) {
			errs = append(errs, field.Invalid(field.NewPath("reportingController"), ev.ReportingController, msg))
		}
	}
	for name, v := range map[string]string{"reportingInstance": ev.ReportingInstance, "action": ev.Action, "reason": ev.Reason} {
		if v == "" {
			errs = append(errs, field.Required(field.NewPath(name), ""))
		} else if len(v) > 128 {
			errs = append(errs, field.Invalid(field.NewPath(name), "", "can have at most 128 characters"))
		}
	}
	if len(ev.Note) > 1024 {
		errs = append(errs, field.Invalid(field.NewPath("note"), "", "can have at most 1024 characters"))
	}
	return errs
}

// ValidateEventsV1EventUpdate validates an events.k8s.io/v1 Event update.
func ValidateEventsV1EventUpdate(newEv, oldEv *eventsv1.Event) field.ErrorList {
	errs := validateObjectMetaUpdate(&newEv.ObjectMeta, &oldEv.ObjectMeta)
	errs = append(errs, ValidateEventsV1Event(newEv)...)
	for name, pair := range map[string][2]any{
		"regarding":           {newEv.Regarding, oldEv.Regarding},
		"related":             {newEv.Related, oldEv.Related},
		"reportingController": {newEv.ReportingController, oldEv.ReportingController},
		"reportingInstance":   {newEv.ReportingInstance, oldEv.ReportingInstance},
		"action":              {newEv.Action, oldEv.Action},
		"reason":              {newEv.Reason, oldEv.Reason},
		"note":                {newEv.Note, oldEv.Note},
		"type":                {newEv.Type, oldEv.Type},
		"eventTime":           {newEv.EventTime, oldEv.EventTime},
	} {
		errs = append(errs, immutable(pair[0], pair[1], field.NewPath(name))...)
	}
	return errs
}

// ValidateLease validates a coordination.k8s.io/v1 Lease.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	errs := validateObjectMeta(&l.ObjectMeta, true, nameIsDNSSubdomain)
	specPath := field.NewPath("spec")
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if l.Spec.PreferredHolder != nil && *l.Spec.PreferredHolder != "" && (l.Spec.Strategy == nil || *l.Spec.Strategy == "") {
		errs = append(errs, field.Forbidden(specPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// ValidateLeaseUpdate validates a Lease update.
func ValidateLeaseUpdate(newL, oldL *coordinationv1.Lease) field.ErrorList {
	errs := validateObjectMetaUpdate(&newL.ObjectMeta, &oldL.ObjectMeta)
	return append(errs, ValidateLease(newL)...)
}
