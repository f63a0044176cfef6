package validation

import (
	"fmt"
	"regexp"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/client-go/util/jsonpath"
)

// Limits and accepted values of kube 1.37's ValidatingAdmissionPolicy
// validation (pkg/apis/admissionregistration/validation).
const (
	maxAuditAnnotations                     = 20
	maxAuditAnnotationValueExpressionLength = 5 * 1024
)

var (
	policyValidationReasons = sets.New(string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid), string(metav1.StatusReasonRequestEntityTooLarge))
	validationActions       = sets.New(string(admissionregistrationv1.Deny), string(admissionregistrationv1.Warn), string(admissionregistrationv1.Audit))
	celIdentifier           = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)
	celReserved             = sets.New("true", "false", "null", "in", "as", "break", "const", "continue", "else",
		"for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while")
	lineBreak = regexp.MustCompile(`[\n\r]+`)
)

// ValidateValidatingAdmissionPolicy is kube's validation of a policy on
// create: a DNS-subdomain name, failurePolicy, paramKind, matchConstraints
// with at least one resource rule, match conditions, variables,
// validations and audit annotations, every CEL expression compiled in the
// environment the ValidatingAdmissionPolicy plugin evaluates it in.
func ValidateValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	return validatePolicy(p, environment.NewExpressions, false)
}

// ValidateValidatingAdmissionPolicyUpdate validates an update as a create,
// except that expressions the stored policy already has compile in the
// stored-expressions environment, and match conditions are not checked
// again while they, the paramKind and the stored ones are unchanged.
func ValidateValidatingAdmissionPolicyUpdate(p, old *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	skipConditions := equality.Semantic.DeepEqual(p.Spec.ParamKind, old.Spec.ParamKind) &&
		equality.Semantic.DeepEqual(p.Spec.MatchConditions, old.Spec.MatchConditions)
	return validatePolicy(p, environment.StoredExpressions, skipConditions)
}

// ValidateValidatingAdmissionPolicyStatusUpdate checks the status: type
// checking warnings with a fieldRef that parses as JSONPath, and conditions.
func ValidateValidatingAdmissionPolicyStatusUpdate(p, _ *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("status")
	if tc := p.Status.TypeChecking; tc != nil {
		for i, w := range tc.ExpressionWarnings {
			wp := sp.Child("typeChecking", "expressionWarnings").Index(i)
			if w.Warning == "" {
				errs = append(errs, field.Required(wp.Child("warning"), ""))
			}
			ref := strings.TrimSpace(w.FieldRef)
			if ref == "" {
				errs = append(errs, field.Required(wp.Child("fieldRef"), ""))
			} else if err := jsonpath.New("spec").Parse("{" + ref + "}"); err != nil {
				errs = append(errs, field.Invalid(wp.Child("fieldRef"), ref, fmt.Sprintf("invalid JSONPath: %v", err)))
			}
		}
	}
	return append(errs, metav1validation.ValidateConditions(p.Status.Conditions, sp.Child("conditions"))...)
}

// ValidateValidatingAdmissionPolicyBinding is kube's validation of a
// binding, on create and on update alike: policyName, paramRef (name or
// selector, parameterNotFoundAction Allow|Deny), matchResources and
// validationActions (at least one of Deny, Warn, Audit; not Deny with Warn).
func ValidateValidatingAdmissionPolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&b.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	sp := field.NewPath("spec")
	if b.Spec.PolicyName == "" {
		errs = append(errs, field.Required(sp.Child("policyName"), ""))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(b.Spec.PolicyName, false) {
			errs = append(errs, field.Invalid(sp.Child("policyName"), b.Spec.PolicyName, msg))
		}
	}
	errs = append(errs, validateParamRef(b.Spec.ParamRef, sp.Child("paramRef"))...)
	errs = append(errs, validateMatchResources(b.Spec.MatchResources, sp.Child("matchResources"))...)
	return append(errs, validateValidationActions(b.Spec.ValidationActions, sp.Child("validationActions"))...)
}

// ValidateValidatingAdmissionPolicyBindingUpdate validates an update as a create.
func ValidateValidatingAdmissionPolicyBindingUpdate(b, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	return ValidateValidatingAdmissionPolicyBinding(b)
}

func validatePolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy, env environment.Type, skipConditions bool) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	spec, sp := &p.Spec, field.NewPath("spec")
	var compiler plugincel.Compiler = celCompiler()
	if len(spec.Variables) > 0 {
		composited, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
		if err != nil {
			return append(errs, field.InternalError(sp.Child("variables"), err))
		}
		compiler = composited
	}
	switch v := spec.FailurePolicy; {
	case v == nil:
		errs = append(errs, field.Required(sp.Child("failurePolicy"), ""))
	case !webhookFailurePolicies.Has(string(*v)):
		errs = append(errs, field.NotSupported(sp.Child("failurePolicy"), *v, sets.List(webhookFailurePolicies)))
	}
	hasParams := spec.ParamKind != nil
	if hasParams {
		errs = append(errs, validateParamKind(*spec.ParamKind, sp.Child("paramKind"))...)
	}
	if spec.MatchConstraints == nil {
		errs = append(errs, field.Required(sp.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(spec.MatchConstraints, sp.Child("matchConstraints"))...)
		if len(spec.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(sp.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	if !skipConditions {
		errs = append(errs, validateMatchConditionsWith(spec.MatchConditions, sp.Child("matchConditions"), hasParams)...)
	}
	decls := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}
	for i, v := range spec.Variables {
		vp := sp.Child("variables").Index(i)
		if strings.TrimSpace(v.Name) == "" {
			errs = append(errs, field.Required(vp.Child("name"), "name is not specified"))
		} else if !celIdentifier.MatchString(v.Name) || celReserved.Has(v.Name) {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, "must be a valid CEL identifier"))
		}
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
			continue
		}
		variable := &validating.Variable{Name: v.Name, Expression: v.Expression}
		if res := compiler.(*plugincel.CompositedCompiler).CompileAndStoreVariable(variable, decls, env); res.Error != nil {
			errs = append(errs, celError(vp.Child("expression"), v.Expression, res.Error))
		}
	}
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		msg := "validations or auditAnnotations must contain at least one item"
		return append(errs, field.Required(sp.Child("validations"), msg), field.Required(sp.Child("auditAnnotations"), msg))
	}
	for i, v := range spec.Validations {
		errs = append(errs, validatePolicyValidation(compiler, v, decls, env, sp.Child("validations").Index(i))...)
	}
	if len(spec.AuditAnnotations) > maxAuditAnnotations {
		errs = append(errs, field.Invalid(sp.Child("auditAnnotations"), spec.AuditAnnotations, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := sets.New[string]()
	for i, a := range spec.AuditAnnotations {
		ap := sp.Child("auditAnnotations").Index(i)
		errs = append(errs, validateAuditAnnotation(compiler, p.Name, a, decls, env, ap)...)
		if keys.Has(a.Key) {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys.Insert(a.Key)
	}
	return errs
}

func validatePolicyValidation(compiler plugincel.Compiler, v admissionregistrationv1.Validation, decls plugincel.OptionalVariableDeclarations,
	env environment.Type, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(v.Expression) == "" {
		errs = append(errs, field.Required(p.Child("expression"), "expression is not specified"))
	} else if res := compiler.CompileCELExpression(&validating.ValidationCondition{Expression: v.Expression}, decls, env); res.Error != nil {
		errs = append(errs, celError(p.Child("expression"), v.Expression, res.Error))
	}
	msgExpr := strings.TrimSpace(v.MessageExpression)
	if v.MessageExpression != "" && msgExpr == "" {
		errs = append(errs, field.Invalid(p.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
	} else if msgExpr != "" {
		// The message expression has params when the policy has them, and no authorizer.
		msgDecls := plugincel.OptionalVariableDeclarations{HasParams: decls.HasParams}
		if res := compiler.CompileCELExpression(&validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}, msgDecls, env); res.Error != nil {
			errs = append(errs, celError(p.Child("messageExpression"), v.MessageExpression, res.Error))
		}
	}
	msg := strings.TrimSpace(v.Message)
	if v.Message != "" && msg == "" {
		errs = append(errs, field.Invalid(p.Child("message"), v.Message, "must be non-empty if specified"))
	} else if lineBreak.MatchString(msg) {
		errs = append(errs, field.Invalid(p.Child("message"), v.Message, "must not contain line breaks"))
	}
	if v.Reason != nil && !policyValidationReasons.Has(string(*v.Reason)) {
		errs = append(errs, field.NotSupported(p.Child("reason"), *v.Reason, sets.List(policyValidationReasons)))
	}
	return errs
}

func validateAuditAnnotation(compiler plugincel.Compiler, policy string, a admissionregistrationv1.AuditAnnotation, decls plugincel.OptionalVariableDeclarations,
	env environment.Type, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policy == "" {
		errs = append(errs, field.Invalid(p.Child("key"), a.Key, "requires metadata.name be non-empty"))
	} else {
		for _, msg := range utilvalidation.IsQualifiedName(policy + "/" + a.Key) {
			errs = append(errs, field.Invalid(p.Child("key"), policy+"/"+a.Key, msg))
		}
	}
	expr := strings.TrimSpace(a.ValueExpression)
	switch {
	case expr == "":
		errs = append(errs, field.Required(p.Child("valueExpression"), "valueExpression is not specified"))
	case len(expr) > maxAuditAnnotationValueExpressionLength:
		errs = append(errs, field.Required(p.Child("valueExpression"), fmt.Sprintf("must not exceed %d bytes in length", maxAuditAnnotationValueExpressionLength)))
	default:
		if res := compiler.CompileCELExpression(&validating.AuditAnnotationCondition{ValueExpression: expr}, decls, env); res.Error != nil {
			errs = append(errs, celError(p.Child("valueExpression"), a.ValueExpression, res.Error))
		}
	}
	return errs
}

// celError reports a compile error with the type kube gives it.
func celError(p *field.Path, expr string, err *apiservercel.Error) *field.Error {
	switch err.Type {
	case apiservercel.ErrorTypeRequired:
		return field.Required(p, err.Detail)
	case apiservercel.ErrorTypeInvalid:
		return field.Invalid(p, expr, err.Detail)
	}
	return field.InternalError(p, err)
}

func validateParamKind(k admissionregistrationv1.ParamKind, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	vp := p.Child("apiVersion")
	switch group, version, n := splitGroupVersion(k.APIVersion); {
	case k.APIVersion == "":
		errs = append(errs, field.Required(vp, ""))
	case n > 1:
		errs = append(errs, field.Invalid(vp, k.APIVersion, fmt.Sprintf("unexpected GroupVersion string: %v", k.APIVersion)))
	default:
		if group != "" {
			if msgs := utilvalidation.IsDNS1123Subdomain(group); len(msgs) > 0 {
				errs = append(errs, field.Invalid(vp, group, strings.Join(msgs, ",")))
			}
		}
		if version == "" {
			errs = append(errs, field.Invalid(vp, k.APIVersion, "version must be specified"))
		} else if msgs := utilvalidation.IsDNS1035Label(version); len(msgs) > 0 {
			errs = append(errs, field.Invalid(vp, version, strings.Join(msgs, ",")))
		}
	}
	if k.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else if msgs := utilvalidation.IsDNS1035Label(strings.ToLower(k.Kind)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("kind"), k.Kind, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
	}
	return errs
}

// splitGroupVersion splits "group/version" (or "version") and counts its
// slashes; "/" alone is an empty group and version.
func splitGroupVersion(gv string) (group, version string, slashes int) {
	if gv == "/" {
		return "", "", 0
	}
	slashes = strings.Count(gv, "/")
	if g, v, ok := strings.Cut(gv, "/"); ok {
		return g, v, slashes
	}
	return "", gv, slashes
}

// validateMatchResources checks a policy's matchConstraints or a binding's
// matchResources; nil is allowed (a binding without its own).
func validateMatchResources(m *admissionregistrationv1.MatchResources, p *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	var errs field.ErrorList
	switch v := m.MatchPolicy; {
	case v == nil:
		errs = append(errs, field.Required(p.Child("matchPolicy"), ""))
	case !webhookMatchPolicies.Has(string(*v)):
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *v, sets.List(webhookMatchPolicies)))
	}
	for name, sel := range map[string]*metav1.LabelSelector{"namespaceSelector": m.NamespaceSelector, "objectSelector": m.ObjectSelector} {
		if sel == nil {
			errs = append(errs, field.Required(p.Child(name), ""))
		} else {
			errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p.Child(name))...)
		}
	}
	for list, rules := range map[string][]admissionregistrationv1.NamedRuleWithOperations{"resourceRules": m.ResourceRules, "excludeResourceRules": m.ExcludeResourceRules} {
		for i, r := range rules {
			rp := p.Child(list).Index(i)
			names := sets.New[string]()
			for j, n := range r.ResourceNames {
				for _, msg := range path.IsValidPathSegmentName(n) {
					errs = append(errs, field.Invalid(rp.Child("resourceNames").Index(j), n, msg))
				}
				if names.Has(n) {
					errs = append(errs, field.Duplicate(rp.Child("resourceNames").Index(j), n))
				}
				names.Insert(n)
			}
			errs = append(errs, validateWebhookRule(r.RuleWithOperations, rp)...)
		}
	}
	return errs
}

func validateParamRef(r *admissionregistrationv1.ParamRef, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if r.Name != "" {
		for _, msg := range path.IsValidPathSegmentName(r.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
		}
		if r.Selector != nil {
			errs = append(errs, field.Forbidden(p.Child("name"), "name and selector are mutually exclusive"))
		}
	}
	if r.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(r.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
		if r.Name != "" {
			errs = append(errs, field.Forbidden(p.Child("selector"), "name and selector are mutually exclusive"))
		}
	}
	if r.Name == "" && r.Selector == nil {
		errs = append(errs, field.Required(p, "one of name or selector must be specified"))
	}
	switch a := r.ParameterNotFoundAction; {
	case a == nil || *a == "":
		errs = append(errs, field.Required(p.Child("parameterNotFoundAction"), ""))
	case *a != admissionregistrationv1.DenyAction && *a != admissionregistrationv1.AllowAction:
		errs = append(errs, field.NotSupported(p.Child("parameterNotFoundAction"), *a, []string{string(admissionregistrationv1.DenyAction), string(admissionregistrationv1.AllowAction)}))
	}
	return errs
}

func validateValidationActions(actions []admissionregistrationv1.ValidationAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, a := range actions {
		if !validationActions.Has(string(a)) {
			errs = append(errs, field.NotSupported(p.Index(i), a, sets.List(validationActions)))
		}
		if seen.Has(string(a)) {
			errs = append(errs, field.Duplicate(p.Index(i), a))
		}
		seen.Insert(string(a))
	}
	if seen.Has(string(admissionregistrationv1.Deny)) && seen.Has(string(admissionregistrationv1.Warn)) {
		errs = append(errs, field.Invalid(p, actions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if seen.Len() == 0 {
		errs = append(errs, field.Required(p, "at least one validation action is required"))
	}
	return errs
}
