package validation

import (
	"fmt"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/util/webhook"
)

// Kube's accepted values of the admissionregistration.k8s.io/v1 webhook
// fields (pkg/apis/admissionregistration/validation).
var (
	webhookScopes          = sets.New("*", string(admissionregistrationv1.ClusterScope), string(admissionregistrationv1.NamespacedScope))
	webhookOperations      = sets.New("*", "CREATE", "UPDATE", "DELETE", "CONNECT")
	webhookFailurePolicies = sets.New(string(admissionregistrationv1.Ignore), string(admissionregistrationv1.Fail))
	webhookMatchPolicies   = sets.New(string(admissionregistrationv1.Exact), string(admissionregistrationv1.Equivalent))
	webhookSideEffects     = sets.New(string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun))
	webhookReinvocation    = sets.New(string(admissionregistrationv1.NeverReinvocationPolicy), string(admissionregistrationv1.IfNeededReinvocationPolicy))
	admissionReviewVersion = []string{"v1", "v1beta1"}
)

// webhookFields are the fields both kinds of webhook share.
type webhookFields struct {
	name                    string
	clientConfig            admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	namespaceSel, objectSel *metav1.LabelSelector
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
}

// ValidateValidatingWebhookConfiguration is kube's validation of a
// ValidatingWebhookConfiguration.
func ValidateValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	errs := webhookConfigurationMeta(&c.ObjectMeta)
	hooks := make([]webhookFields, len(c.Webhooks))
	for i, h := range c.Webhooks {
		hooks[i] = webhookFields{h.Name, h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector, h.ObjectSelector,
			h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.MatchConditions}
	}
	return append(errs, validateWebhooks(hooks)...)
}

// ValidateValidatingWebhookConfigurationUpdate validates an update.
func ValidateValidatingWebhookConfigurationUpdate(newC, oldC *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	return append(apimachineryvalidation.ValidateObjectMetaUpdate(&newC.ObjectMeta, &oldC.ObjectMeta, metadataPath), ValidateValidatingWebhookConfiguration(newC)...)
}

// ValidateMutatingWebhookConfiguration is kube's validation of a
// MutatingWebhookConfiguration.
func ValidateMutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	errs := webhookConfigurationMeta(&c.ObjectMeta)
	hooks := make([]webhookFields, len(c.Webhooks))
	for i, h := range c.Webhooks {
		hooks[i] = webhookFields{h.Name, h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector, h.ObjectSelector,
			h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.MatchConditions}
		if p := h.ReinvocationPolicy; p != nil && !webhookReinvocation.Has(string(*p)) {
			errs = append(errs, field.NotSupported(field.NewPath("webhooks").Index(i).Child("reinvocationPolicy"), *p, sets.List(webhookReinvocation)))
		}
	}
	return append(errs, validateWebhooks(hooks)...)
}

// ValidateMutatingWebhookConfigurationUpdate validates an update.
func ValidateMutatingWebhookConfigurationUpdate(newC, oldC *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	return append(apimachineryvalidation.ValidateObjectMetaUpdate(&newC.ObjectMeta, &oldC.ObjectMeta, metadataPath), ValidateMutatingWebhookConfiguration(newC)...)
}

// webhookConfigurationMeta is the generic object metadata check upstream
// applies to webhook configurations (no kube finalizer-name rule).
func webhookConfigurationMeta(m *metav1.ObjectMeta) field.ErrorList {
	return apimachineryvalidation.ValidateObjectMeta(m, false, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
}

func validateWebhooks(hooks []webhookFields) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, h := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateWebhook(h, p)...)
		if h.name != "" {
			if names.Has(h.name) {
				errs = append(errs, field.Duplicate(p.Child("name"), h.name))
			}
			names.Insert(h.name)
		}
	}
	return errs
}

func validateWebhook(h webhookFields, p *field.Path) field.ErrorList {
	errs := utilvalidation.IsFullyQualifiedName(p.Child("name"), h.name)
	for i, r := range h.rules {
		errs = append(errs, validateWebhookRule(r, p.Child("rules").Index(i))...)
	}
	if v := h.failurePolicy; v != nil && !webhookFailurePolicies.Has(string(*v)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *v, sets.List(webhookFailurePolicies)))
	}
	if v := h.matchPolicy; v != nil && !webhookMatchPolicies.Has(string(*v)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *v, sets.List(webhookMatchPolicies)))
	}
	switch v := h.sideEffects; {
	case v == nil:
		errs = append(errs, field.Required(p.Child("sideEffects"), fmt.Sprintf("must specify one of %v", strings.Join(sets.List(webhookSideEffects), ", "))))
	case !webhookSideEffects.Has(string(*v)):
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *v, sets.List(webhookSideEffects)))
	}
	if v := h.timeoutSeconds; v != nil && (*v > 30 || *v < 1) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *v, "the timeout value must be between 1 and 30 seconds"))
	}
	selOpts := metav1validation.LabelSelectorValidationOptions{}
	if h.namespaceSel != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.namespaceSel, selOpts, p.Child("namespaceSelector"))...)
	}
	if h.objectSel != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.objectSel, selOpts, p.Child("objectSelector"))...)
	}
	cc, ccPath := h.clientConfig, p.Child("clientConfig")
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		errs = append(errs, field.Required(ccPath, "exactly one of url or service is required"))
	case cc.URL != nil:
		errs = append(errs, webhook.ValidateWebhookURL(ccPath.Child("url"), *cc.URL, true)...)
	default:
		port := int32(443)
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		errs = append(errs, webhook.ValidateWebhookService(ccPath.Child("service"), cc.Service.Name, cc.Service.Namespace, cc.Service.Path, port)...)
	}
	errs = append(errs, validateAdmissionReviewVersions(h.admissionReviewVersions, p.Child("admissionReviewVersions"))...)
	return append(errs, validateMatchConditions(h.matchConditions, p.Child("matchConditions"))...)
}

func validateWebhookRule(r admissionregistrationv1.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ops := make([]string, len(r.Operations))
	for i, op := range r.Operations {
		ops[i] = string(op)
		if !webhookOperations.Has(string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, sets.List(webhookOperations)))
		}
	}
	errs = append(errs, requiredList(ops, p.Child("operations"), "operations")...)
	errs = append(errs, requiredList(r.APIGroups, p.Child("apiGroups"), "API groups")...)
	errs = append(errs, requiredList(r.APIVersions, p.Child("apiVersions"), "API versions")...)
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	errs = append(errs, validateWebhookResources(r.Resources, p.Child("resources"))...)
	if r.Scope != nil && !webhookScopes.Has(string(*r.Scope)) {
		errs = append(errs, field.NotSupported(p.Child("scope"), *r.Scope, sets.List(webhookScopes)))
	}
	return errs
}

// requiredList: a rule's list must not be empty, and '*' stands alone.
func requiredList(values []string, p *field.Path, what string) field.ErrorList {
	if len(values) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	if len(values) > 1 && sets.New(values...).Has("*") {
		return field.ErrorList{field.Invalid(p, values, fmt.Sprintf("if '*' is present, must not specify other %s", what))}
	}
	return nil
}

// validateWebhookResources checks resource[/subresource] entries and their
// wildcards as kube does, quirks included: an entry "<r>/<s>" clashes only
// with "<r>/*" or "*/<s>" listed before it, an empty entry counts as
// nothing else, and "*" clashes with a plain resource only when the last
// plain entry is not "*" itself.
func validateWebhookResources(resources []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	withSub := sets.New[string]()  // resources named with "<r>/*" so far
	subOfAll := sets.New[string]() // subresources named with "*/<s>" so far
	doubleWildcard, singleWildcard, plain := false, false, false
	for i, r := range resources {
		if r == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
			continue
		}
		doubleWildcard = doubleWildcard || r == "*/*"
		singleWildcard = singleWildcard || r == "*"
		res, sub, ok := strings.Cut(r, "/")
		if !ok {
			plain = r != "*"
			continue
		}
		if withSub.Has(res) {
			errs = append(errs, field.Invalid(p.Index(i), r, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, r)))
		}
		if subOfAll.Has(sub) {
			errs = append(errs, field.Invalid(p.Index(i), r, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, r)))
		}
		if sub == "*" {
			withSub.Insert(res)
		}
		if res == "*" {
			subOfAll.Insert(sub)
		}
	}
	if len(resources) > 1 && doubleWildcard {
		errs = append(errs, field.Invalid(p, resources, "if '*/*' is present, must not specify other resources"))
	}
	if singleWildcard && plain {
		errs = append(errs, field.Invalid(p, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

func validateAdmissionReviewVersions(versions []string, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, fmt.Sprintf("must specify one of %v", strings.Join(admissionReviewVersion, ", ")))}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	accepted := false
	for i, v := range versions {
		if seen.Has(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		seen.Insert(v)
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
		accepted = accepted || v == "v1" || v == "v1beta1"
	}
	if !accepted {
		errs = append(errs, field.Invalid(p, versions, fmt.Sprintf("must include at least one of %v", strings.Join(admissionReviewVersion, ", "))))
	}
	return errs
}

// celCompiler compiles match conditions in the environment the webhook
// admission evaluates them in (object, oldObject, request, authorizer).
// Built on first use, not in the package's init: every start of the petset
// binary (each pod starts it three times) paid ≈ 3.4 ms and 1.1 MB for it.
var celCompiler = sync.OnceValue(func() plugincel.Compiler {
	return plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
})

func validateMatchConditions(conds []admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	return validateMatchConditionsWith(conds, p, false)
}

// validateMatchConditionsWith checks match conditions; hasParams declares
// the params variable (a policy with a paramKind).
func validateMatchConditionsWith(conds []admissionregistrationv1.MatchCondition, p *field.Path, hasParams bool) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > 64 {
		errs = append(errs, field.TooMany(p, len(conds), 64))
	}
	names := sets.New[string]()
	for i, c := range conds {
		cp := p.Index(i)
		if expr := strings.TrimSpace(c.Expression); expr == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		} else {
			res := celCompiler().CompileCELExpression(&matchconditions.MatchCondition{Expression: expr},
				plugincel.OptionalVariableDeclarations{HasAuthorizer: true, HasParams: hasParams}, environment.NewExpressions)
			if res.Error != nil {
				errs = append(errs, field.Invalid(cp.Child("expression"), c.Expression, fmt.Sprintf("compilation failed: %v", res.Error)))
			}
		}
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else {
			for _, msg := range utilvalidation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
	}
	return errs
}
