package e2e

// TestSecurityServiceAccountToken: with a real `petset up`, a pod finds its
// service-account token, the cluster CA and its namespace at
// /var/run/secrets/kubernetes.io/serviceaccount and reaches the API server
// at $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with them, as
// client-go's in-cluster config does: discovery answers 200, listing
// Secrets 403 (the token is a service account's, not the admin's), and
// service-account issuer discovery (the ES256 key of a new data dir) 200.

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func TestSecurityServiceAccountToken(t *testing.T) {
	curl := harness.LookTool(t, "curl") // the pod runs the host's curl
	u := harness.StartUp(t)
	k := u.K

	// kubectl create token: a token of the default ServiceAccount.
	r := k.MustRun(t, "create", "token", "default", "--duration", "15m")
	if claims := jwtClaims(t, strings.TrimSpace(r.Stdout)); claims["sub"] != "system:serviceaccount:default:default" {
		t.Fatalf("kubectl create token: sub %v", claims["sub"])
	}
	if h := jwtPart(t, r.Stdout, 0); h["alg"] != "ES256" {
		t.Errorf("kubectl create token: alg %v, want ES256 (a new data dir's ECDSA key)", h["alg"])
	}

	pod := u.WriteFile(t, "sa-client.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: sa-client
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
`)
	k.MustRun(t, "apply", "-f", pod)
	k.WaitJSONPath(t, 2*time.Minute, "{.status.phase}", "Running", "pod", "sa-client")

	ls := k.MustRun(t, "exec", "sa-client", "--", "ls", "-a", saDir).Stdout
	for _, want := range []string{"..data", "token", "ca.crt", "namespace"} {
		if !strings.Contains(ls, want) {
			t.Errorf("%s lacks %s:\n%s", saDir, want, ls)
		}
	}
	if ns := k.MustRun(t, "exec", "sa-client", "--", "cat", saDir+"/namespace").Stdout; ns != "default" {
		t.Errorf("namespace file %q", ns)
	}
	claims := jwtClaims(t, k.MustRun(t, "exec", "sa-client", "--", "cat", saDir+"/token").Stdout)
	kube, _ := claims["kubernetes.io"].(map[string]any)
	podRef, _ := kube["pod"].(map[string]any)
	if claims["sub"] != "system:serviceaccount:default:default" || podRef["name"] != "sa-client" {
		t.Errorf("mounted token claims %v", claims)
	}

	call := func(path string) string {
		script := curl + ` -sS -o /dev/null -w '%{http_code}' --cacert ` + saDir + `/ca.crt` +
			` -H "Authorization: Bearer $(cat ` + saDir + `/token)"` +
			` "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` + path + `"`
		return strings.TrimSpace(k.MustRun(t, "exec", "sa-client", "--", "sh", "-c", script).Stdout)
	}
	if code := call("/api"); code != "200" {
		t.Errorf("GET /api from the pod with its token: %s, want 200", code)
	}
	if code := call("/api/v1/namespaces/default/secrets"); code != "403" {
		t.Errorf("listing secrets from the pod with its token: %s, want 403", code)
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/openid/v1/jwks"} {
		if code := call(path); code != "200" {
			t.Errorf("GET %s from the pod with its token: %s, want 200", path, code)
		}
	}
}

// jwtClaims decodes a JWT's payload (no verification: the API server does that).
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	return jwtPart(t, tok, 1)
}

// jwtPart decodes part i of a JWT: 0 the header, 1 the payload.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT part %d: %v", i, err)
	}
	return m
}
