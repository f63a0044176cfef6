package registry

import (
	"context"
	"fmt"
	"math"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/serviceaccount"
)

// TokenIssuer signs service-account tokens; *serviceaccount.Issuer is one.
type TokenIssuer interface {
	Name() string
	Issue(sc *serviceaccount.JWTClaims, pc *serviceaccount.PrivateClaims) (string, error)
}

// defaultTokenExpirationSeconds is TokenRequest's spec.expirationSeconds default.
const defaultTokenExpirationSeconds = 3600

// TokenREST serves serviceaccounts/token (authentication.k8s.io/v1
// TokenRequest): a token for the ServiceAccount, optionally bound to a pod
// of it, as kube-apiserver's TokenREST does.
type TokenREST struct {
	issuer          TokenIssuer
	serviceAccounts *Store
	pods            *Store
	nodes           *Store
}

var (
	_ rest.NamedCreater             = &TokenREST{}
	_ rest.GroupVersionKindProvider = &TokenREST{}
)

func (r *TokenREST) New() runtime.Object { return &authenticationv1.TokenRequest{} }
func (r *TokenREST) Destroy()            {}

func (r *TokenREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
}

var tokenRequestKind = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest").GroupKind()

// Create issues the token. The name is the ServiceAccount's.
func (r *TokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req, ok := obj.(*authenticationv1.TokenRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenRequest object: %T", obj))
	}
	namespace, ok := genericapirequest.NamespaceFrom(ctx)
	if !ok || namespace == "" {
		return nil, apierrors.NewBadRequest("namespace is required")
	}
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(tokenRequestKind, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != namespace {
		return nil, apierrors.NewInvalid(tokenRequestKind, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}
	saObj, err := r.serviceAccounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sa := saObj.(*corev1.ServiceAccount)

	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = []string{r.issuer.Name()}
	}
	if req.Spec.ExpirationSeconds == nil {
		exp := int64(defaultTokenExpirationSeconds)
		req.Spec.ExpirationSeconds = &exp
	}
	if req.Name == "" {
		req.Name = sa.Name
	}
	if req.Namespace == "" {
		req.Namespace = sa.Namespace
	}
	// The time is taken before the token is built, so the returned
	// expiration is never later than the token's exp.
	now := time.Now()
	req.CreationTimestamp = metav1.NewTime(now)
	req.Status = authenticationv1.TokenRequestStatus{}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestKind, "", errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, req.DeepCopyObject()); err != nil {
			return nil, err
		}
	}

	var pod *corev1.Pod
	var node *corev1.Node
	if ref := req.Spec.BoundObjectRef; ref != nil {
		gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
		if gvk.Group != "" || gvk.Kind != "Pod" {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
		}
		podObj, err := r.pods.Get(withResource(ctx, "pods", namespace), ref.Name, &metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		pod = podObj.(*corev1.Pod)
		if pod.Spec.ServiceAccountName != name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", name))
		}
		if ref.UID != "" && ref.UID != pod.UID {
			return nil, apierrors.NewConflict(corev1.Resource("pods"), ref.Name,
				fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
		}
		if pod.Spec.NodeName != "" {
			if nodeObj, err := r.nodes.Get(withResource(ctx, "nodes", ""), pod.Spec.NodeName, &metav1.GetOptions{}); err == nil {
				node = nodeObj.(*corev1.Node)
			} else if !apierrors.IsNotFound(err) {
				return nil, err
			}
		}
	}

	exp := time.Duration(*req.Spec.ExpirationSeconds) * time.Second
	sc, pc := serviceaccount.Claims(sa, pod, node, now, exp, req.Spec.Audiences)
	if len(options.DryRun) > 0 {
		out := req.DeepCopy()
		out.Status.ExpirationTimestamp = metav1.NewTime(now.Add(exp))
		return out, nil
	}
	tok, err := r.issuer.Issue(sc, pc)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out := req.DeepCopy()
	out.Status = authenticationv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(now.Add(exp))}
	return out, nil
}

// validateTokenRequest is kube's ValidateTokenRequest.
func validateTokenRequest(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	exp := *tr.Spec.ExpirationSeconds
	if exp < int64((10 * time.Minute).Seconds()) {
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration less than 10 minutes"))
	}
	if exp > math.MaxUint32 {
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}

// withResource is ctx for reading another resource than the request's, so
// that errors name that resource.
func withResource(ctx context.Context, resource, namespace string) context.Context {
	ctx = genericapirequest.WithNamespace(ctx, namespace)
	return genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: resource, Namespace: namespace,
	})
}
