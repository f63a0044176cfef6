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
	return append(errs, validateKubeFinalizerName(name, p)...)
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
			errs = append(errs, field.NotSupported(idx.Child("effect"), t.Effect, supportedTaintEffects))
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

// eventFields is the part of an Event that kube validates, in core/v1
// terms; events.k8s.io/v1 Events are mapped onto it as kube's conversion
// does (regarding → involvedObject, note → message, deprecated* → …), so
// errors name the same paths in both APIs.
type eventFields struct {
	meta                                   *metav1.ObjectMeta
	involvedObject                         corev1.ObjectReference
	reason, message, typ, action           string
	reportingController, reportingInstance string
	eventTime                              metav1.MicroTime
	firstTimestamp, lastTimestamp          metav1.Time
	count                                  int32
	source                                 corev1.EventSource
	seriesCount                            int32
	seriesLastObserved                     metav1.MicroTime
	hasSeries                              bool
}

const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

func coreEventFields(ev *corev1.Event) eventFields {
	f := eventFields{
		meta: &ev.ObjectMeta, involvedObject: ev.InvolvedObject, reason: ev.Reason, message: ev.Message, typ: ev.Type,
		action: ev.Action, reportingController: ev.ReportingController, reportingInstance: ev.ReportingInstance,
		eventTime: ev.EventTime, firstTimestamp: ev.FirstTimestamp, lastTimestamp: ev.LastTimestamp, count: ev.Count, source: ev.Source,
	}
	if ev.Series != nil {
		f.hasSeries, f.seriesCount, f.seriesLastObserved = true, ev.Series.Count, ev.Series.LastObservedTime
	}
	return f
}

func eventsV1Fields(ev *eventsv1.Event) eventFields {
	f := eventFields{
		meta: &ev.ObjectMeta, involvedObject: ev.Regarding, reason: ev.Reason, message: ev.Note, typ: ev.Type,
		action: ev.Action, reportingController: ev.ReportingController, reportingInstance: ev.ReportingInstance,
		eventTime: ev.EventTime, firstTimestamp: ev.DeprecatedFirstTimestamp, lastTimestamp: ev.DeprecatedLastTimestamp,
		count: ev.DeprecatedCount, source: ev.DeprecatedSource,
	}
	if ev.Series != nil {
		f.hasSeries, f.seriesCount, f.seriesLastObserved = true, ev.Series.Count, ev.Series.LastObservedTime
	}
	return f
}

// legacyValidateEvent holds the rules every Event passes, whichever API
// wrote it.
func legacyValidateEvent(f eventFields) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	ns := f.meta.Namespace
	if f.eventTime.IsZero() {
		if f.involvedObject.Namespace == "" {
			if ns != metav1.NamespaceNone && ns != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, f.involvedObject.Namespace, "does not match event.namespace"))
			}
		} else if ns != f.involvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, f.involvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if f.involvedObject.Namespace == "" && ns != metav1.NamespaceDefault && ns != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, f.involvedObject.Namespace, "does not match event.namespace"))
		}
		if f.reportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		for _, msg := range validation.IsQualifiedName(f.reportingController) {
			errs = append(errs, field.Invalid(field.NewPath("reportingController"), f.reportingController, msg))
		}
		errs = append(errs, requiredWithLimit(f.reportingInstance, reportingInstanceLengthLimit, field.NewPath("reportingInstance"))...)
		errs = append(errs, requiredWithLimit(f.action, actionLengthLimit, field.NewPath("action"))...)
		errs = append(errs, requiredWithLimit(f.reason, reasonLengthLimit, field.NewPath("reason"))...)
		if len(f.message) > noteLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteLengthLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(ns) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ns, msg))
	}
	return errs
}

func requiredWithLimit(v string, limit int, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v == "" {
		errs = append(errs, field.Required(p, ""))
	}
	if len(v) > limit {
		errs = append(errs, field.Invalid(p, "", fmt.Sprintf("can have at most %v characters", limit)))
	}
	return errs
}

func validateEventSeries(f eventFields) field.ErrorList {
	if !f.hasSeries {
		return nil
	}
	var errs field.ErrorList
	if f.seriesCount < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if f.seriesLastObserved.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return errs
}

// ValidateEvent validates a core/v1 Event (create): the involved object's
// namespace must match the event's, and events carrying an eventTime need
// the reporting fields. As in kube, core/v1 writes get no further checks.
func ValidateEvent(ev *corev1.Event) field.ErrorList {
	return legacyValidateEvent(coreEventFields(ev))
}

// ValidateEventUpdate validates a core/v1 Event update.
func ValidateEventUpdate(newEv, _ *corev1.Event) field.ErrorList {
	return legacyValidateEvent(coreEventFields(newEv))
}

// ValidateEventsV1Event validates an events.k8s.io/v1 Event (create): the
// legacy rules plus the strict ones of the new API (name, eventTime, type,
// series, and the deprecated fields unset).
func ValidateEventsV1Event(ev *eventsv1.Event) field.ErrorList {
	f := eventsV1Fields(ev)
	errs := legacyValidateEvent(f)
	errs = append(errs, validateObjectMeta(&ev.ObjectMeta, true, nameIsDNSSubdomain)...)
	errs = append(errs, validateEventSeries(f)...)
	if f.eventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if f.typ != corev1.EventTypeNormal && f.typ != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", f.typ)))
	}
	if !f.firstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !f.lastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if f.count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if f.source.Component != "" || f.source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

// ValidateEventsV1EventUpdate validates an events.k8s.io/v1 Event update:
// only the series (and metadata) may change.
func ValidateEventsV1EventUpdate(newEv, oldEv *eventsv1.Event) field.ErrorList {
	nf, of := eventsV1Fields(newEv), eventsV1Fields(oldEv)
	errs := legacyValidateEvent(nf)
	errs = append(errs, validateObjectMetaUpdate(&newEv.ObjectMeta, &oldEv.ObjectMeta)...)
	if !equality.Semantic.DeepEqual(newEv.Series, oldEv.Series) {
		errs = append(errs, validateEventSeries(nf)...)
	}
	for _, c := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", nf.involvedObject, of.involvedObject},
		{"reason", nf.reason, of.reason},
		{"message", nf.message, of.message},
		{"source", nf.source, of.source},
		{"firstTimestamp", nf.firstTimestamp, of.firstTimestamp},
		{"lastTimestamp", nf.lastTimestamp, of.lastTimestamp},
		{"count", nf.count, of.count},
		{"type", nf.typ, of.typ},
		{"eventTime", nf.eventTime, of.eventTime},
		{"action", nf.action, of.action},
		{"related", newEv.Related, oldEv.Related},
		{"reportingController", nf.reportingController, of.reportingController},
		{"reportingInstance", nf.reportingInstance, of.reportingInstance},
	} {
		errs = append(errs, immutable(c.new, c.old, field.NewPath(c.name))...)
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
	if st := l.Spec.Strategy; st != nil {
		sp := specPath.Child("strategy")
		if parts := strings.Split(string(*st), "/"); len(parts) == 1 {
			if *st != coordinationv1.OldestEmulationVersion {
				errs = append(errs, field.NotSupported(sp.Child("strategy"), *st, []string{string(coordinationv1.OldestEmulationVersion)}))
			}
		} else {
			for _, msg := range validation.IsQualifiedName(string(*st)) {
				errs = append(errs, field.Invalid(sp.Child("strategy"), *st, msg))
			}
		}
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
