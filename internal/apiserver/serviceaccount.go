package apiserver

import (
	"context"
	"crypto"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server/mux"

	"petset/internal/serviceaccount"
)

// objectGetter reads one object of a store.
type objectGetter interface {
	Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error)
}

// storeObjects reads ServiceAccounts and pods from the API server's own
// stores (the watch cache first, etcd when the cache has not seen an
// object yet). The stores are set once installed.
type storeObjects struct {
	serviceAccounts, pods atomic.Pointer[objectGetter]
}

func (s *storeObjects) set(stores map[schema.GroupResource]objectGetter) {
	sa, pods := stores[corev1.Resource("serviceaccounts")], stores[corev1.Resource("pods")]
	s.serviceAccounts.Store(&sa)
	s.pods.Store(&pods)
}

func (s *storeObjects) get(ctx context.Context, p *atomic.Pointer[objectGetter], namespace, name string) (runtime.Object, error) {
	g := p.Load()
	if g == nil {
		return nil, apierrors.NewServiceUnavailable("the API server is still starting")
	}
	ctx = genericapirequest.WithNamespace(ctx, namespace)
	obj, err := (*g).Get(ctx, name, &metav1.GetOptions{ResourceVersion: "0"})
	if apierrors.IsNotFound(err) {
		obj, err = (*g).Get(ctx, name, &metav1.GetOptions{})
	}
	return obj, err
}

func (s *storeObjects) ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	obj, err := s.get(ctx, &s.serviceAccounts, namespace, name)
	if apierrors.IsNotFound(err) {
		// The store names the resource of the request (pods); say which
		// object is missing, as kube's plugin does.
		return nil, apierrors.NewNotFound(corev1.Resource("serviceaccount"), name)
	}
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ServiceAccount), nil
}

func (s *storeObjects) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	obj, err := s.get(ctx, &s.pods, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
	}
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

// serviceAccountAdmission is kube's ServiceAccount admission plugin for
// pod creation: spec.serviceAccountName defaults to "default", the
// ServiceAccount must exist, and unless automounting is off every
// container gets the kube-api-access-xxxxx projected token volume.
type serviceAccountAdmission struct {
	objects *storeObjects
}

var (
	_ admission.MutationInterface   = &serviceAccountAdmission{}
	_ admission.ValidationInterface = &serviceAccountAdmission{}
)

func (s *serviceAccountAdmission) Handles(op admission.Operation) bool { return op == admission.Create }

func isPodCreate(a admission.Attributes) (*corev1.Pod, bool) {
	if a.GetResource().GroupResource() != corev1.Resource("pods") || a.GetSubresource() != "" {
		return nil, false
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	return pod, ok
}

func (s *serviceAccountAdmission) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	pod, ok := isPodCreate(a)
	if !ok {
		return nil
	}
	serviceaccount.DefaultServiceAccountName(pod)
	sa, err := s.lookup(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}
	if serviceaccount.ShouldAutomount(sa, pod) {
		serviceaccount.MountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	return nil
}

// Validate refuses a pod whose service account was not set by Admit.
func (s *serviceAccountAdmission) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	pod, ok := isPodCreate(a)
	if !ok {
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	return nil
}

// lookup finds the ServiceAccount. The default one is created by a
// controller right after its namespace, so it is asked for again a few
// times before giving up, as kube's plugin does.
func (s *serviceAccountAdmission) lookup(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	attempts := 1
	if name == serviceaccount.DefaultName {
		attempts = 10
	}
	interval := time.Duration(100+rand.IntN(100)) * time.Millisecond
	for i := 0; ; i++ {
		sa, err := s.objects.ServiceAccount(ctx, namespace, name)
		if err == nil || !apierrors.IsNotFound(err) || i+1 >= attempts {
			return sa, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(interval):
		}
	}
}

// installIssuerDiscovery serves service-account issuer discovery as
// kube-apiserver does: the OpenID Connect discovery document of issuer
// iss at /.well-known/openid-configuration and the key set of keys at
// /openid/v1/jwks (jwksURI, as the document names it), behind the usual
// authentication and authorization (the bootstrap policy grants both
// paths to system:serviceaccounts).
func installIssuerDiscovery(m *mux.PathRecorderMux, iss, jwksURI string, keys []crypto.PublicKey) error {
	md, err := serviceaccount.NewOpenIDMetadata(iss, jwksURI, keys)
	if err != nil {
		return fmt.Errorf("service-account issuer discovery: %w", err)
	}
	m.Handle(serviceaccount.OpenIDConfigurationPath, serveStatic("application/json", md.Configuration))
	m.Handle(serviceaccount.JWKSPath, serveStatic("application/jwk-set+json", md.KeySet))
	return nil
}

// serveStatic answers GET with body as contentType, cacheable for an hour
// (kube's max-age for issuer discovery).
func serveStatic(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
