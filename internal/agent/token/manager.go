package token

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// maxTTL is the age after which a token is renewed whatever its lifetime.
const maxTTL = 24 * time.Hour

// Manager requests and caches pod-bound service-account tokens.
type Manager struct {
	client kubernetes.Interface
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]*authenticationv1.TokenRequest
}

// New returns a manager that requests tokens through client.
func New(client kubernetes.Interface) *Manager {
	return &Manager{client: client, now: time.Now, cache: map[string]*authenticationv1.TokenRequest{}}
}

// Token returns a token for pod's service account as src asks for it
// (audience, expiration), bound to pod.
func (m *Manager) Token(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	key := keyOf(pod.Namespace, pod.Spec.ServiceAccountName, req)
	m.mu.Lock()
	cached := m.cache[key]
	m.mu.Unlock()
	if cached != nil && !m.needsRefresh(cached) {
		return []byte(cached.Status.Token), nil
	}
	tr, err := m.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
	if err != nil {
		if cached != nil && m.now().Before(cached.Status.ExpirationTimestamp.Time) {
			// Keep serving the old token while it is valid, as kubelet does.
			return []byte(cached.Status.Token), nil
		}
		return nil, fmt.Errorf("request a token for service account %s/%s: %w", pod.Namespace, pod.Spec.ServiceAccountName, err)
	}
	if tr.Spec.ExpirationSeconds == nil {
		return nil, fmt.Errorf("token for service account %s/%s has no expirationSeconds", pod.Namespace, pod.Spec.ServiceAccountName)
	}
	m.mu.Lock()
	m.cache[key] = tr
	m.mu.Unlock()
	return []byte(tr.Status.Token), nil
}

// needsRefresh: 80% of the lifetime or 24 hours passed.
func (m *Manager) needsRefresh(tr *authenticationv1.TokenRequest) bool {
	exp := tr.Status.ExpirationTimestamp.Time
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	iat := exp.Add(-ttl)
	refresh := iat.Add(ttl * 8 / 10)
	if ttl > maxTTL {
		refresh = iat.Add(maxTTL)
	}
	return !m.now().Before(refresh)
}

// Forget drops the tokens bound to the pod with uid (the pod is gone).
func (m *Manager) Forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, tr := range m.cache {
		if ref := tr.Spec.BoundObjectRef; ref != nil && ref.UID == uid {
			delete(m.cache, k)
		}
	}
	// Expired tokens of pods never torn down here go too.
	for k, tr := range m.cache {
		if m.now().After(tr.Status.ExpirationTimestamp.Time) {
			delete(m.cache, k)
		}
	}
}

func keyOf(namespace, name string, tr *authenticationv1.TokenRequest) string {
	exp := int64(0)
	if tr.Spec.ExpirationSeconds != nil {
		exp = *tr.Spec.ExpirationSeconds
	}
	ref := tr.Spec.BoundObjectRef
	return fmt.Sprintf("%q/%q/%q/%d/%q/%q", namespace, name, strings.Join(tr.Spec.Audiences, ","), exp, ref.Name, ref.UID)
}
