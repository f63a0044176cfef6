package token

import (
	"fmt"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestRefreshAt80Percent: a token is reused until 80% of its lifetime has
// passed, then requested again; a pod's tokens are forgotten with it.
func TestRefreshAt80Percent(t *testing.T) {
	client := fake.NewSimpleClientset()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var requests []*authenticationv1.TokenRequest
	client.PrependReactor("create", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		ca := a.(clienttesting.CreateAction)
		if ca.GetSubresource() != "token" {
			return false, nil, nil
		}
		req := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		requests = append(requests, req)
		req.Status = authenticationv1.TokenRequestStatus{
			Token:               fmt.Sprintf("tok-%d", len(requests)),
			ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second)),
		}
		return true, req, nil
	})
	m := New(client)
	m.now = func() time.Time { return now }
	exp := int64(1000)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"}, Spec: corev1.PodSpec{ServiceAccountName: "bot"}}
	src := &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}
	get := func() string {
		t.Helper()
		b, err := m.Token(t.Context(), pod, src)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := get(); got != "tok-1" {
		t.Fatalf("first token %q", got)
	}
	r := requests[0]
	if r.Spec.BoundObjectRef == nil || r.Spec.BoundObjectRef.Kind != "Pod" || r.Spec.BoundObjectRef.UID != "u1" || *r.Spec.ExpirationSeconds != 1000 {
		t.Fatalf("request %+v", r.Spec)
	}
	now = now.Add(799 * time.Second)
	if got := get(); got != "tok-1" {
		t.Errorf("at 79.9%% of the lifetime: %q, want the cached tok-1", got)
	}
	now = now.Add(time.Second)
	if got := get(); got != "tok-2" {
		t.Errorf("at 80%% of the lifetime: %q, want a new tok-2", got)
	}
	m.Forget("u1")
	if got := get(); got != "tok-3" {
		t.Errorf("after Forget: %q, want a new token", got)
	}
}
