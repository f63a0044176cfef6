package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"petset/internal/controlplane"
)

// tokenFileCluster runs a control plane with a static token file holding
// user x (token x-token, groups devs) and returns x's client.
func tokenFileCluster(t *testing.T) (*cluster, kubernetes.Interface) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(f, []byte("x-token,x,uid-x,\"devs,testers\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startClusterWith(t, controlplane.Config{TokenAuthFile: f})
	cfg := &restclient.Config{Host: c.cp.ServerURL(), BearerToken: "x-token", TLSClientConfig: restclient.TLSClientConfig{CAFile: c.cp.CAFile()}}
	x, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, x
}

// TestRBACTokenFileUser: a --token-auth-file user with no binding gets
// kube's 403; a RoleBinding grants.
func TestRBACTokenFileUser(t *testing.T) {
	c, x := tokenFileCluster(t)
	ctx := context.Background()
	createNamespace(t, c, "y")
	_, err := x.CoreV1().Secrets("y").List(ctx, metav1.ListOptions{})
	want := `secrets is forbidden: User "x" cannot list resource "secrets" in API group "" in the namespace "y"`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("list secrets without a binding: %v\nwant: %s", err, want)
	}
	if _, err := c.client.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "testers-edit"},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: "Group", Name: "testers"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x lists secrets in y through group testers", func() (bool, error) {
		_, err := x.CoreV1().Secrets("y").List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
	// A wrong token is 401, not anonymous.
	bad, _ := kubernetes.NewForConfig(&restclient.Config{Host: c.cp.ServerURL(), BearerToken: "nope", TLSClientConfig: restclient.TLSClientConfig{CAFile: c.cp.CAFile()}})
	if _, err := bad.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("wrong token: %v, want 401", err)
	}
}

// TestRBACReviews: the review resources answer with the real authorizer,
// rule resolver and authenticator.
func TestRBACReviews(t *testing.T) {
	c, x := tokenFileCluster(t)
	ctx := context.Background()
	createNamespace(t, c, "y")

	// whoami
	ssr, err := x.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := ssr.Status.UserInfo; u.Username != "x" || u.UID != "uid-x" || !contains(u.Groups, "devs") || !contains(u.Groups, "system:authenticated") {
		t.Errorf("SelfSubjectReview = %+v", u)
	}

	// can-i, as x and as admin
	can := func(client kubernetes.Interface, verb, resource, ns string) bool {
		t.Helper()
		r, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: resource, Namespace: ns}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	if can(x, "list", "secrets", "y") {
		t.Error("x can list secrets before any binding")
	}
	if !can(c.client, "delete", "nodes", "") {
		t.Error("admin cannot delete nodes")
	}
	if _, err := c.client.RbacV1().RoleBindings("y").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "x-view"},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "x"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x can list pods in y", func() (bool, error) { return can(x, "list", "pods", "y"), nil })
	if can(x, "list", "secrets", "y") || can(x, "create", "pods", "y") || can(x, "list", "pods", "default") {
		t.Error("view grants more than kube's view")
	}

	// SubjectAccessReview (admin asks about x), and its validation.
	sar, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "x", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: "y"}},
	}, metav1.CreateOptions{})
	if err != nil || !sar.Status.Allowed || sar.Status.Reason == "" {
		t.Errorf("SubjectAccessReview for x: %+v %v", sar, err)
	}
	_, err = c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("SubjectAccessReview without a user: %v, want invalid", err)
	}
	// x may not ask about others.
	if _, err := x.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "admin", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}},
	}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("x creating a SubjectAccessReview: %v, want forbidden", err)
	}
	lsar, err := c.client.AuthorizationV1().LocalSubjectAccessReviews("y").Create(ctx, &authorizationv1.LocalSubjectAccessReview{
		ObjectMeta: metav1.ObjectMeta{Namespace: "y"},
		Spec:       authorizationv1.SubjectAccessReviewSpec{User: "x", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "pods", Namespace: "y"}},
	}, metav1.CreateOptions{})
	if err != nil || lsar.Status.Allowed {
		t.Errorf("LocalSubjectAccessReview delete pods for x: %+v %v", lsar, err)
	}

	// can-i --list
	rules, err := x.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "y"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rules.Status.ResourceRules {
		found = found || (contains(r.Resources, "pods") && contains(r.Verbs, "list"))
	}
	if !found || len(rules.Status.NonResourceRules) == 0 {
		t.Errorf("SelfSubjectRulesReview in y: %+v", rules.Status)
	}

	// TokenReview: admin asks who x-token is; a bad token is not authenticated.
	tr, err := c.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "x-token"}}, metav1.CreateOptions{})
	if err != nil || !tr.Status.Authenticated || tr.Status.User.Username != "x" {
		t.Errorf("TokenReview of x's token: %+v %v", tr, err)
	}
	tr, err = c.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "nope"}}, metav1.CreateOptions{})
	if err != nil || tr.Status.Authenticated {
		t.Errorf("TokenReview of a bad token: %+v %v", tr, err)
	}
	if _, err := x.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "x-token"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("x creating a TokenReview: %v, want forbidden", err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
