package integration

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"petset/internal/controlplane"
	"petset/internal/serviceaccount"
)

// TestServiceAccountTokens: every namespace gets a default ServiceAccount
// and kube-root-ca.crt; pods get the projected token volume; a token from
// serviceaccounts/token authenticates as the service account (discovery
// only until RBAC), and expired tokens, tokens for another audience and
// tokens of a deleted pod are refused.
func TestServiceAccountTokens(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	const ns = "sa-test"
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(c.cp.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the default ServiceAccount and kube-root-ca.crt in "+ns, func() (bool, error) {
		if _, err := c.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, err
		}
		cm, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cm.Data["ca.crt"] == string(ca), nil
	})
	// Deleted, each comes back.
	if err := c.client.CoreV1().ServiceAccounts(ns).Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.client.CoreV1().ConfigMaps(ns).Delete(ctx, "kube-root-ca.crt", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the default ServiceAccount and kube-root-ca.crt recreated", func() (bool, error) {
		if _, err := c.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, err
		}
		_, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, err
	})
	saKey, err := os.Stat(filepath.Join(c.dataDir, "pki", "sa.key"))
	if err != nil || saKey.Mode().Perm() != 0o600 {
		t.Fatalf("sa.key: %v, mode %v; want mode 0600", err, saKey.Mode().Perm())
	}

	// Admission: default service account and the projected token volume.
	pods := c.client.CoreV1().Pods(ns)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" || len(pod.Spec.Volumes) != 1 || !strings.HasPrefix(pod.Spec.Volumes[0].Name, "kube-api-access-") {
		t.Fatalf("pod after admission: serviceAccountName %q, volumes %+v", pod.Spec.ServiceAccountName, pod.Spec.Volumes)
	}
	if m := pod.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" || !m[0].ReadOnly {
		t.Fatalf("container mounts %+v", m)
	}
	noMount, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "no-token"},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(noMount.Spec.Volumes) != 0 || len(noMount.Spec.Containers[0].VolumeMounts) != 0 {
		t.Errorf("automountServiceAccountToken: false still mounted %+v", noMount.Spec.Volumes)
	}
	_, err = pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost-sa"},
		Spec:       corev1.PodSpec{ServiceAccountName: "missing", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	want := `pods "ghost-sa" is forbidden: error looking up service account sa-test/missing: serviceaccount "missing" not found`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("pod with a missing service account: %v, want 403 %q", err, want)
	}

	// TokenRequest, bound to the pod.
	sas := c.client.CoreV1().ServiceAccounts(ns)
	bound := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	tr, err := sas.CreateToken(ctx, "default", bound, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status.Token == "" || *tr.Spec.ExpirationSeconds != 3600 || len(tr.Spec.Audiences) != 1 || tr.Spec.Audiences[0] != serviceaccount.DefaultIssuer {
		t.Fatalf("token request status/spec: %+v", tr.Spec)
	}
	if d := time.Until(tr.Status.ExpirationTimestamp.Time); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expirationTimestamp %v is not an hour away", tr.Status.ExpirationTimestamp)
	}
	if _, err := sas.CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(60))}}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("expirationSeconds 60: %v, want 422", err)
	}
	if _, err := sas.CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("token for a missing service account: %v, want 404", err)
	}
	otherPod := bound.DeepCopy()
	otherPod.Spec.BoundObjectRef.UID = "not-the-pod"
	if _, err := sas.CreateToken(ctx, "default", otherPod, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("token bound to a wrong pod UID: %v, want 409", err)
	}

	asToken := func(tok string) (kubernetes.Interface, *restclient.Config) {
		cfg := restclient.AnonymousClientConfig(c.config)
		cfg.BearerToken = tok
		cl, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cl, cfg
	}
	status := func(cl kubernetes.Interface, path string) int {
		var code int
		cl.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&code)
		return code
	}
	saClient, _ := asToken(tr.Status.Token)
	if code := status(saClient, "/api"); code != http.StatusOK {
		t.Errorf("GET /api with the token: %d, want 200", code)
	}
	// A new data dir signs with an ECDSA P-256 key, and issuer discovery
	// (granted to service accounts) describes it.
	h := tokenHeader(t, tr.Status.Token)
	if h["alg"] != "ES256" {
		t.Errorf("token alg %v, want ES256", h["alg"])
	}
	if jwk := checkIssuerDiscovery(t, ctx, saClient, "ES256"); jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk["x"] == "" || jwk["y"] == "" || jwk["kid"] != h["kid"] {
		t.Errorf("JWK %v, want an EC P-256 key with the token's kid %v", jwk, h["kid"])
	}
	if anonymous, _ := asToken(""); status(anonymous, serviceaccount.JWKSPath) == http.StatusOK {
		t.Errorf("GET %s anonymously was served", serviceaccount.JWKSPath)
	}
	_, err = saClient.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "system:serviceaccount:sa-test:default" cannot list resource "secrets"`) {
		t.Errorf("listing secrets with the token: %v, want 403 for system:serviceaccount:sa-test:default", err)
	}

	// Refused: another audience, an expired token, a deleted pod's token.
	vault, err := sas.CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := asToken(vault.Status.Token); status(cl, "/api") != http.StatusUnauthorized {
		t.Error("a token for audience vault was accepted by the API server")
	}
	key, err := serviceaccount.EnsureKeys(controlplane.ServiceAccountKeyPath(c.dataDir), filepath.Join(c.dataDir, "pki", "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := serviceaccount.NewIssuer("", key)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := sas.Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc, pc := serviceaccount.Claims(sa, pod, nil, time.Now().Add(-2*time.Hour), time.Hour, []string{serviceaccount.DefaultIssuer})
	expired, err := issuer.Issue(sc, pc)
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := asToken(expired); status(cl, "/api") != http.StatusUnauthorized {
		t.Error("an expired token was accepted")
	}
	sc, pc = serviceaccount.Claims(sa, pod, nil, time.Now(), time.Hour, []string{serviceaccount.DefaultIssuer})
	fresh, err := issuer.Issue(sc, pc)
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := asToken(fresh); status(cl, "/api") != http.StatusOK {
		t.Fatal("a fresh token signed with sa.key was refused")
	}
	if err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted pod's token refused", func() (bool, error) {
		return status(saClient, "/api") == http.StatusUnauthorized, nil
	})
}

// TestServiceAccountRSAKeyKept: a data dir made before ECDSA keys, whose
// sa.key is RSA, keeps it: the control plane signs RS256 with it, tokens
// the key signed before stay valid, and issuer discovery serves it.
func TestServiceAccountRSAKeyKept(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dataDir, "pki"), 0o700); err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	keyPath := controlplane.ServiceAccountKeyPath(dataDir)
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, dataDir)
	ctx := context.Background()
	sas := c.client.CoreV1().ServiceAccounts("default")
	var sa *corev1.ServiceAccount
	eventually(t, "the default ServiceAccount", func() (bool, error) {
		sa, err = sas.Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	tr, err := sas.CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if alg := tokenHeader(t, tr.Status.Token)["alg"]; alg != "RS256" {
		t.Errorf("token alg %v, want RS256 (the data dir's RSA key)", alg)
	}
	// A token the RSA key signed outside this server (as before an upgrade).
	issuer, err := serviceaccount.NewIssuer("", rk)
	if err != nil {
		t.Fatal(err)
	}
	sc, pc := serviceaccount.Claims(sa, nil, nil, time.Now(), time.Hour, []string{serviceaccount.DefaultIssuer})
	old, err := issuer.Issue(sc, pc)
	if err != nil {
		t.Fatal(err)
	}
	var saClient kubernetes.Interface
	for what, tok := range map[string]string{"TokenRequest token": tr.Status.Token, "token signed with the RSA key": old} {
		cfg := restclient.AnonymousClientConfig(c.config)
		cfg.BearerToken = tok
		cl, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var code int
		cl.Discovery().RESTClient().Get().AbsPath("/api").Do(ctx).StatusCode(&code)
		if code != http.StatusOK {
			t.Errorf("GET /api with the %s: %d, want 200", what, code)
		}
		saClient = cl
	}
	if b, err := os.ReadFile(keyPath); err != nil || string(b) != string(keyPEM) {
		t.Errorf("sa.key was rewritten (%v)", err)
	}
	if jwk := checkIssuerDiscovery(t, ctx, saClient, "RS256"); jwk["kty"] != "RSA" || jwk["n"] == "" || jwk["e"] == "" {
		t.Errorf("JWK %v, want an RSA key", jwk)
	}
}

// tokenHeader is a JWT's decoded JOSE header.
func tokenHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// checkIssuerDiscovery reads the OpenID discovery document and key set as
// cl, checks both advertise alg alone, and returns the one key.
func checkIssuerDiscovery(t *testing.T, ctx context.Context, cl kubernetes.Interface, alg string) map[string]string {
	t.Helper()
	get := func(path string, into any) {
		t.Helper()
		b, err := cl.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	var conf struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	get(serviceaccount.OpenIDConfigurationPath, &conf)
	if conf.Issuer != serviceaccount.DefaultIssuer || !strings.HasSuffix(conf.JWKSURI, serviceaccount.JWKSPath) ||
		len(conf.Algs) != 1 || conf.Algs[0] != alg {
		t.Errorf("discovery document %+v, want issuer %s, jwks_uri …%s and algs [%s]", conf, serviceaccount.DefaultIssuer, serviceaccount.JWKSPath, alg)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	get(serviceaccount.JWKSPath, &set)
	if len(set.Keys) != 1 || set.Keys[0]["alg"] != alg || set.Keys[0]["use"] != "sig" || set.Keys[0]["kid"] == "" {
		t.Fatalf("key set %v, want one %s signing key with a kid", set.Keys, alg)
	}
	return set.Keys[0]
}
