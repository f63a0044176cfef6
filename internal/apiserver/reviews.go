package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// The review kinds are create-only virtual resources: nothing is stored;
// the answer is computed by the server's own authorizer, rule resolver or
// authenticator for the user of the request (self reviews) or the user in
// the spec.

// reviewStorage returns the review resources per group version.
func reviewStorage(authz authorizer.Authorizer, rules authorizer.RuleResolver, authn authenticator.Request) map[schema.GroupVersion]map[string]rest.Storage {
	return map[schema.GroupVersion]map[string]rest.Storage{
		authorizationv1.SchemeGroupVersion: {
			"selfsubjectaccessreviews":  &review{newObj: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }, singular: "selfsubjectaccessreview", create: selfSubjectAccessReview(authz)},
			"subjectaccessreviews":      &review{newObj: func() runtime.Object { return &authorizationv1.SubjectAccessReview{} }, singular: "subjectaccessreview", create: subjectAccessReview(authz)},
			"localsubjectaccessreviews": &review{newObj: func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} }, singular: "localsubjectaccessreview", namespaced: true, create: localSubjectAccessReview(authz)},
			"selfsubjectrulesreviews":   &review{newObj: func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }, singular: "selfsubjectrulesreview", create: selfSubjectRulesReview(rules)},
		},
		authenticationv1.SchemeGroupVersion: {
			"selfsubjectreviews": &review{newObj: func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }, singular: "selfsubjectreview", create: selfSubjectReview},
			"tokenreviews":       &review{newObj: func() runtime.Object { return &authenticationv1.TokenReview{} }, singular: "tokenreview", create: tokenReview(authn)},
		},
	}
}

// review is the REST storage of one review kind.
type review struct {
	newObj     func() runtime.Object
	singular   string
	namespaced bool
	create     func(ctx context.Context, obj runtime.Object) (runtime.Object, error)
}

var (
	_ rest.Creater                  = (*review)(nil)
	_ rest.Scoper                   = (*review)(nil)
	_ rest.SingularNameProvider     = (*review)(nil)
	_ rest.Storage                  = (*review)(nil)
	_ rest.GroupVersionKindProvider = (*review)(nil)
)

func (r *review) New() runtime.Object     { return r.newObj() }
func (r *review) Destroy()                {}
func (r *review) NamespaceScoped() bool   { return r.namespaced }
func (r *review) GetSingularName() string { return r.singular }
func (r *review) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind(map[string]string{
		"selfsubjectaccessreview": "SelfSubjectAccessReview", "subjectaccessreview": "SubjectAccessReview",
		"localsubjectaccessreview": "LocalSubjectAccessReview", "selfsubjectrulesreview": "SelfSubjectRulesReview",
		"selfsubjectreview": "SelfSubjectReview", "tokenreview": "TokenReview",
	}[r.singular])
}

func (r *review) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	return r.create(ctx, obj)
}

// validateSpec is kube's common check of access review specs.
func validateSpec(spec authorizationv1.SubjectAccessReviewSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.ResourceAttributes != nil && spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(p.Child("nonResourceAttributes"), spec.NonResourceAttributes, `cannot be specified in combination with resourceAttributes`))
	}
	if spec.ResourceAttributes == nil && spec.NonResourceAttributes == nil {
		errs = append(errs, field.Invalid(p.Child("resourceAttributes"), spec.NonResourceAttributes, `exactly one of nonResourceAttributes or resourceAttributes must be specified`))
	}
	return errs
}

// attributesFor is what the authorizer is asked for u.
func attributesFor(u user.Info, spec authorizationv1.SubjectAccessReviewSpec) authorizer.AttributesRecord {
	if ra := spec.ResourceAttributes; ra != nil {
		return authorizer.AttributesRecord{
			User: u, Verb: ra.Verb, Namespace: ra.Namespace, APIGroup: ra.Group, APIVersion: ra.Version,
			Resource: ra.Resource, Subresource: ra.Subresource, Name: ra.Name, ResourceRequest: true,
		}
	}
	return authorizer.AttributesRecord{User: u, Verb: spec.NonResourceAttributes.Verb, Path: spec.NonResourceAttributes.Path}
}

func decide(ctx context.Context, authz authorizer.Authorizer, attrs authorizer.AttributesRecord) authorizationv1.SubjectAccessReviewStatus {
	d, reason, err := authz.Authorize(ctx, attrs)
	st := authorizationv1.SubjectAccessReviewStatus{
		Allowed: d == authorizer.DecisionAllow, Denied: d == authorizer.DecisionDeny, Reason: reason,
	}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

func invalid(kind string, errs field.ErrorList) error {
	return apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind(kind).GroupKind(), "", errs)
}

func selfSubjectAccessReview(authz authorizer.Authorizer) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		r := obj.(*authorizationv1.SelfSubjectAccessReview)
		spec := authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: r.Spec.ResourceAttributes, NonResourceAttributes: r.Spec.NonResourceAttributes}
		if errs := validateSpec(spec, field.NewPath("spec")); len(errs) > 0 {
			return nil, invalid("SelfSubjectAccessReview", errs)
		}
		u, ok := request.UserFrom(ctx)
		if !ok {
			return nil, apierrors.NewBadRequest("no user present on request")
		}
		r.Status = decide(ctx, authz, attributesFor(u, spec))
		return r, nil
	}
}

// specUser is the user a SubjectAccessReview asks about.
func specUser(spec authorizationv1.SubjectAccessReviewSpec) user.Info {
	extra := map[string][]string{}
	for k, v := range spec.Extra {
		extra[k] = v
	}
	return &user.DefaultInfo{Name: spec.User, UID: spec.UID, Groups: spec.Groups, Extra: extra}
}

func subjectAccessReview(authz authorizer.Authorizer) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		r := obj.(*authorizationv1.SubjectAccessReview)
		errs := validateSpec(r.Spec, field.NewPath("spec"))
		if r.Spec.User == "" && len(r.Spec.Groups) == 0 {
			errs = append(errs, field.Invalid(field.NewPath("spec", "user"), r.Spec.User, `at least one of user or group must be specified`))
		}
		if len(errs) > 0 {
			return nil, invalid("SubjectAccessReview", errs)
		}
		r.Status = decide(ctx, authz, attributesFor(specUser(r.Spec), r.Spec))
		return r, nil
	}
}

func localSubjectAccessReview(authz authorizer.Authorizer) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		r := obj.(*authorizationv1.LocalSubjectAccessReview)
		ns, _ := request.NamespaceFrom(ctx)
		if r.Namespace == "" {
			r.Namespace = ns
		}
		errs := validateSpec(r.Spec, field.NewPath("spec"))
		if r.Spec.User == "" && len(r.Spec.Groups) == 0 {
			errs = append(errs, field.Invalid(field.NewPath("spec", "user"), r.Spec.User, `at least one of user or group must be specified`))
		}
		if r.Spec.NonResourceAttributes != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "nonResourceAttributes"), r.Spec.NonResourceAttributes, `disallowed on this kind of request`))
		}
		if len(errs) > 0 {
			return nil, invalid("LocalSubjectAccessReview", errs)
		}
		if r.Namespace != ns {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace of the review (%q) must match the namespace of the request (%q)", r.Namespace, ns))
		}
		if r.Spec.ResourceAttributes.Namespace != r.Namespace {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %v", r.Namespace))
		}
		r.Status = decide(ctx, authz, attributesFor(specUser(r.Spec), r.Spec))
		return r, nil
	}
}

func selfSubjectRulesReview(rules authorizer.RuleResolver) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		r := obj.(*authorizationv1.SelfSubjectRulesReview)
		u, ok := request.UserFrom(ctx)
		if !ok {
			return nil, apierrors.NewBadRequest("no user present on request")
		}
		if r.Spec.Namespace == "" {
			return nil, apierrors.NewBadRequest("no namespace on request")
		}
		res, nonRes, incomplete, err := rules.RulesFor(ctx, u, r.Spec.Namespace)
		r.Status = authorizationv1.SubjectRulesReviewStatus{
			ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{},
			Incomplete: incomplete,
		}
		for _, ri := range res {
			r.Status.ResourceRules = append(r.Status.ResourceRules, authorizationv1.ResourceRule{
				Verbs: ri.GetVerbs(), APIGroups: ri.GetAPIGroups(), Resources: ri.GetResources(), ResourceNames: ri.GetResourceNames(),
			})
		}
		for _, ni := range nonRes {
			r.Status.NonResourceRules = append(r.Status.NonResourceRules, authorizationv1.NonResourceRule{
				Verbs: ni.GetVerbs(), NonResourceURLs: ni.GetNonResourceURLs(),
			})
		}
		if err != nil {
			r.Status.EvaluationError = err.Error()
		}
		return r, nil
	}
}

func selfSubjectReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	return &authenticationv1.SelfSubjectReview{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(time.Now())},
		Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: userInfo(u)},
	}, nil
}

func userInfo(u user.Info) authenticationv1.UserInfo {
	var extra map[string]authenticationv1.ExtraValue
	for k, v := range u.GetExtra() {
		if extra == nil {
			extra = map[string]authenticationv1.ExtraValue{}
		}
		extra[k] = v
	}
	return authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: extra}
}

// tokenReview answers who a bearer token authenticates as, through the
// server's own authenticator (kube's TokenReview REST).
func tokenReview(authn authenticator.Request) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		r := obj.(*authenticationv1.TokenReview)
		if r.Spec.Token == "" {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("token is required for TokenReview in %s", authenticationv1.SchemeGroupVersion))
		}
		req := (&http.Request{Header: http.Header{}}).WithContext(ctx)
		req.Header.Set("Authorization", "Bearer "+r.Spec.Token)
		if len(r.Spec.Audiences) > 0 {
			req = req.WithContext(authenticator.WithAudiences(ctx, r.Spec.Audiences))
		}
		resp, ok, err := authn.AuthenticateRequest(req)
		// The token is a credential: it is not echoed back.
		r.Spec.Token = ""
		r.Status = authenticationv1.TokenReviewStatus{Authenticated: ok && resp != nil && resp.User != nil}
		if err != nil {
			r.Status.Error = err.Error()
		}
		if r.Status.Authenticated {
			if len(r.Spec.Audiences) > 0 && len(authenticator.Audiences(r.Spec.Audiences).Intersect(resp.Audiences)) == 0 {
				r.Status = authenticationv1.TokenReviewStatus{Error: "token audiences do not match the requested audiences"}
				return r, nil
			}
			r.Status.User = userInfo(resp.User)
			r.Status.Audiences = resp.Audiences
		}
		return r, nil
	}
}
