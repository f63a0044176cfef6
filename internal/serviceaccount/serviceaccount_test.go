package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
)

// objects is an in-memory Getter.
type objects struct {
	sas  map[string]*corev1.ServiceAccount
	pods map[string]*corev1.Pod
}

func (o objects) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	if sa, ok := o.sas[ns+"/"+name]; ok {
		return sa, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name)
}

func (o objects) Pod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	if p, ok := o.pods[ns+"/"+name]; ok {
		return p, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
}

// newKeys returns a fresh signing key of each kind petset signs with.
func newKeys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"RS256": rk, "ES256": ek}
}

// testObjects holds the ServiceAccount ns/bot and the pod ns/p.
func testObjects() (objects, *corev1.ServiceAccount, *corev1.Pod) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: "sa-uid"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	return objects{sas: map[string]*corev1.ServiceAccount{"ns/bot": sa}, pods: map[string]*corev1.Pod{"ns/p": pod}}, sa, pod
}

// issueWith signs a valid token of sa bound to pod with key.
func issueWith(t *testing.T, key crypto.Signer, sa *corev1.ServiceAccount, pod *corev1.Pod) string {
	t.Helper()
	iss, err := NewIssuer("", key)
	if err != nil {
		t.Fatal(err)
	}
	sc, pc := Claims(sa, pod, nil, time.Now(), time.Hour, []string{DefaultIssuer})
	tok, err := iss.Issue(sc, pc)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// header is a token's decoded JOSE header.
func header(t *testing.T, token string) map[string]any {
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

func newAuthenticator(t *testing.T, store Getter, keys ...crypto.Signer) *Authenticator {
	t.Helper()
	var pubs []crypto.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	a, err := NewAuthenticator("", pubs, nil, store)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEnsureKeysNewDir: a new data dir gets an ECDSA P-256 key (SEC 1
// PEM, 0600) and its public key (PKIX PEM, 0644); its tokens are ES256
// and verify; a second start keeps the key.
func TestEnsureKeysNewDir(t *testing.T) {
	dir := t.TempDir()
	keyPath, pubPath := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	k1, err := EnsureKeys(keyPath, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := k1.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		t.Fatalf("new key is a %T, want an ECDSA P-256 key", k1)
	}
	for path, want := range map[string]struct {
		mode    os.FileMode
		pemType string
	}{keyPath: {0o600, "EC PRIVATE KEY"}, pubPath: {0o644, "PUBLIC KEY"}} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want.mode {
			t.Errorf("%s mode %v, want %v", filepath.Base(path), st.Mode().Perm(), want.mode)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if blk, _ := pem.Decode(b); blk == nil || blk.Type != want.pemType {
			t.Errorf("%s is not a PEM %q block", filepath.Base(path), want.pemType)
		}
	}
	if b, err := os.ReadFile(keyPath); err != nil {
		t.Fatal(err)
	} else if blk, _ := pem.Decode(b); blk == nil {
		t.Error("sa.key: no PEM block")
	} else if _, err := x509.ParseECPrivateKey(blk.Bytes); err != nil {
		t.Errorf("sa.key is not SEC 1: %v", err)
	}
	k2, err := EnsureKeys(keyPath, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !ek.Equal(k2) {
		t.Error("second start generated a new key")
	}
	pub, err := ReadPublicKey(pubPath)
	if err != nil || !ek.PublicKey.Equal(pub) {
		t.Errorf("sa.pub does not hold the key's public half: %v", err)
	}

	store, sa, pod := testObjects()
	tok := issueWith(t, k1, sa, pod)
	if h := header(t, tok); h["alg"] != "ES256" || h["typ"] != "JWT" || h["kid"] == "" {
		t.Errorf("token header %v, want alg ES256, typ JWT and a kid", h)
	}
	auth, err := NewAuthenticator("", []crypto.PublicKey{pub}, nil, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := auth.AuthenticateToken(context.Background(), tok); !ok || err != nil {
		t.Errorf("ES256 token refused: %v", err)
	}
}

// TestEnsureKeysKeepsRSA: a data dir made before ECDSA keys keeps its RSA
// key (PKCS #1 or PKCS #8), which keeps signing RS256, so the tokens it
// issued stay valid; a missing sa.pub is written from it.
func TestEnsureKeysKeepsRSA(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	for name, blk := range map[string]*pem.Block{
		"PKCS1": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)},
		"PKCS8": {Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			keyPath, pubPath := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
			keyPEM := pem.EncodeToMemory(blk)
			if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			store, sa, pod := testObjects()
			// A token the old key issued before the upgrade.
			before := issueWith(t, rk, sa, pod)

			key, err := EnsureKeys(keyPath, pubPath)
			if err != nil {
				t.Fatal(err)
			}
			if !rk.Equal(key) {
				t.Fatalf("EnsureKeys returned a %T, not the RSA key in sa.key", key)
			}
			if b, _ := os.ReadFile(keyPath); string(b) != string(keyPEM) {
				t.Error("sa.key was rewritten")
			}
			pub, err := ReadPublicKey(pubPath)
			if err != nil || !rk.PublicKey.Equal(pub) {
				t.Fatalf("sa.pub does not hold the RSA key's public half: %v", err)
			}
			tok := issueWith(t, key, sa, pod)
			if h := header(t, tok); h["alg"] != "RS256" {
				t.Errorf("token alg %v, want RS256", h["alg"])
			}
			auth, err := NewAuthenticator("", []crypto.PublicKey{pub}, nil, store)
			if err != nil {
				t.Fatal(err)
			}
			for what, tok := range map[string]string{"new token": tok, "token issued before": before} {
				if _, ok, err := auth.AuthenticateToken(context.Background(), tok); !ok || err != nil {
					t.Errorf("%s refused: %v", what, err)
				}
			}
		})
	}
}

func TestEnsureKeysRefusesOtherKeys(t *testing.T) {
	ek, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "sa.key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureKeys(keyPath, filepath.Join(dir, "sa.pub")); err == nil || !strings.Contains(err.Error(), "P-224") {
		t.Errorf("a P-224 key: err %v, want it refused", err)
	}
}

func TestTokens(t *testing.T) {
	for alg, key := range newKeys(t) {
		t.Run(alg, func(t *testing.T) { testTokens(t, alg, key) })
	}
}

func testTokens(t *testing.T, alg string, key crypto.Signer) {
	iss, err := NewIssuer("", key)
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: "sa-uid"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
	gone := metav1.NewTime(time.Now().Add(-2 * time.Minute))
	deletedPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "old", UID: "old-uid", DeletionTimestamp: &gone}}
	store := objects{
		sas:  map[string]*corev1.ServiceAccount{"ns/bot": sa},
		pods: map[string]*corev1.Pod{"ns/p": pod, "ns/old": deletedPod},
	}
	auth := newAuthenticator(t, store, key)
	now := time.Now()
	issue := func(i *Issuer, sa *corev1.ServiceAccount, pod *corev1.Pod, at time.Time, exp time.Duration, aud ...string) string {
		t.Helper()
		if len(aud) == 0 {
			aud = []string{DefaultIssuer}
		}
		sc, pc := Claims(sa, pod, node, at, exp, aud)
		tok, err := i.Issue(sc, pc)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if h := header(t, issue(iss, sa, pod, now, time.Hour)); h["alg"] != alg {
		t.Errorf("token alg %v, want %s", h["alg"], alg)
	}
	recreated := sa.DeepCopy()
	recreated.UID = "older-uid"
	cases := []struct {
		name    string
		token   string
		ok      bool
		errLike string
	}{
		{"bound token", issue(iss, sa, pod, now, time.Hour), true, ""},
		{"unbound token", issue(iss, sa, nil, now, time.Hour), true, ""},
		{"not a JWT is not ours", "abcdef0123", false, ""},
		{"expired", issue(iss, sa, pod, now.Add(-2*time.Hour), time.Hour), false, "has expired"},
		{"wrong audience", issue(iss, sa, pod, now, time.Hour, "vault"), false, "audiences"},
		{"service account recreated", issue(iss, recreated, pod, now, time.Hour), false, "invalidated"},
		{"pod gone", issue(iss, sa, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", UID: "x"}}, now, time.Hour), false, "invalidated"},
		{"pod deleted over a minute ago", issue(iss, sa, deletedPod, now, time.Hour), false, "invalidated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, ok, err := auth.AuthenticateToken(context.Background(), c.token)
			if ok != c.ok {
				t.Fatalf("ok = %v (err %v), want %v", ok, err, c.ok)
			}
			if c.errLike != "" && (err == nil || !strings.Contains(err.Error(), c.errLike)) {
				t.Fatalf("err = %v, want one containing %q", err, c.errLike)
			}
			if !c.ok {
				return
			}
			u := res.User
			if u.GetName() != "system:serviceaccount:ns:bot" || u.GetUID() != "sa-uid" {
				t.Errorf("user %q uid %q", u.GetName(), u.GetUID())
			}
			want := []string{"system:serviceaccounts", "system:serviceaccounts:ns", user.AllAuthenticated}
			if strings.Join(u.GetGroups(), ",") != strings.Join(want, ",") {
				t.Errorf("groups %v, want %v", u.GetGroups(), want)
			}
		})
	}
	res, _, err := auth.AuthenticateToken(context.Background(), issue(iss, sa, pod, now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	extra := res.User.GetExtra()
	if extra["authentication.kubernetes.io/pod-name"][0] != "p" || extra["authentication.kubernetes.io/node-name"][0] != "n1" {
		t.Errorf("extra %v lacks the pod and node", extra)
	}
}

// TestOtherKeysRefused: a token signed by a key the authenticator does not
// hold is refused, whatever the kinds of the two keys; an authenticator
// holding keys of both kinds accepts each's tokens.
func TestOtherKeysRefused(t *testing.T) {
	store, sa, pod := testObjects()
	signers, verifiers := newKeys(t), newKeys(t)
	for sAlg, signer := range signers {
		tok := issueWith(t, signer, sa, pod)
		for vAlg, verifier := range verifiers {
			_, ok, err := newAuthenticator(t, store, verifier).AuthenticateToken(context.Background(), tok)
			if ok {
				t.Errorf("an %s token was accepted by an authenticator of another %s key", sAlg, vAlg)
			}
			if sAlg == vAlg && (err == nil || !strings.Contains(err.Error(), "signature is invalid")) {
				t.Errorf("an %s token of another key: err %v, want an invalid signature", sAlg, err)
			}
		}
		both := newAuthenticator(t, store, verifiers["RS256"], verifiers["ES256"], signer)
		if _, ok, err := both.AuthenticateToken(context.Background(), tok); !ok {
			t.Errorf("an %s token was refused by an authenticator holding its key among others: %v", sAlg, err)
		}
	}
}

// TestAlgorithmConfusionRefused: a token is verified only with the
// algorithm of the key that checks it: "none", HMAC keyed with a public
// key, and a header naming the other key kind's algorithm are all refused.
func TestAlgorithmConfusionRefused(t *testing.T) {
	store, sa, pod := testObjects()
	keys := newKeys(t)
	auth := newAuthenticator(t, store, keys["RS256"], keys["ES256"])
	valid := issueWith(t, keys["ES256"], sa, pod)
	parts := strings.Split(valid, ".")
	withHeader := func(h map[string]any, sign func(signingInput string) []byte) string {
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		in := base64.RawURLEncoding.EncodeToString(b) + "." + parts[1]
		return in + "." + base64.RawURLEncoding.EncodeToString(sign(in))
	}
	hmacWith := func(key []byte) func(string) []byte {
		return func(in string) []byte {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(in))
			return m.Sum(nil)
		}
	}
	pubPEM := func(k crypto.Signer) []byte {
		der, err := x509.MarshalPKIXPublicKey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	esSig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	rsaSigned := strings.Split(issueWith(t, keys["RS256"], sa, pod), ".")
	rsSig, err := base64.RawURLEncoding.DecodeString(rsaSigned[2])
	if err != nil {
		t.Fatal(err)
	}
	kid := header(t, valid)["kid"]
	for name, tok := range map[string]string{
		"alg none":                      withHeader(map[string]any{"alg": "none", "typ": "JWT"}, func(string) []byte { return nil }),
		"HS256 keyed with the EC key":   withHeader(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, hmacWith(pubPEM(keys["ES256"]))),
		"HS256 keyed with the RSA key":  withHeader(map[string]any{"alg": "HS256", "typ": "JWT"}, hmacWith(pubPEM(keys["RS256"]))),
		"RS256 header, ES256 signature": withHeader(map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}, func(string) []byte { return esSig }),
		"ES256 header, RS256 signature": withHeader(map[string]any{"alg": "ES256", "typ": "JWT"}, func(string) []byte { return rsSig }),
		"ES384 header, ES256 signature": withHeader(map[string]any{"alg": "ES384", "typ": "JWT", "kid": kid}, func(string) []byte { return esSig }),
	} {
		if _, ok, err := auth.AuthenticateToken(context.Background(), tok); ok {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: refused (%v)", name, err)
		}
	}
	if _, ok, err := auth.AuthenticateToken(context.Background(), valid); !ok {
		t.Fatalf("the valid ES256 token was refused: %v", err)
	}

	// An authenticator of an EC key alone does not take an RS256 token.
	ecOnly := newAuthenticator(t, store, keys["ES256"])
	if _, ok, _ := ecOnly.AuthenticateToken(context.Background(), issueWith(t, keys["RS256"], sa, pod)); ok {
		t.Error("an RS256 token was accepted by an authenticator of an EC key")
	}
}

// TestOpenIDMetadata: the discovery document names the issuer, the key
// set's URI and the algorithms of the keys; the key set holds each key as
// a JWK (RSA: n, e; EC: crv P-256, x, y) with the kid of its tokens, and a
// relying party verifies a token with it.
func TestOpenIDMetadata(t *testing.T) {
	keys := newKeys(t)
	rk, ek := keys["RS256"].(*rsa.PrivateKey), keys["ES256"].(*ecdsa.PrivateKey)
	const jwksURI = "https://127.0.0.1:6443/openid/v1/jwks"
	for name, tc := range map[string]struct {
		keys []crypto.Signer
		algs []string
	}{
		"EC":         {[]crypto.Signer{ek}, []string{"ES256"}},
		"RSA":        {[]crypto.Signer{rk}, []string{"RS256"}},
		"EC and RSA": {[]crypto.Signer{ek, rk, ek}, []string{"ES256", "RS256"}},
	} {
		t.Run(name, func(t *testing.T) {
			var pubs []crypto.PublicKey
			for _, k := range tc.keys {
				pubs = append(pubs, k.Public())
			}
			md, err := NewOpenIDMetadata("", jwksURI, pubs)
			if err != nil {
				t.Fatal(err)
			}
			var conf map[string]any
			if err := json.Unmarshal(md.Configuration, &conf); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"issuer": DefaultIssuer, "jwks_uri": jwksURI,
				"response_types_supported": []any{"id_token"}, "subject_types_supported": []any{"public"},
				"id_token_signing_alg_values_supported": toAny(tc.algs),
			}
			if !reflect.DeepEqual(conf, want) {
				t.Errorf("discovery document %s, want %v", md.Configuration, want)
			}

			var set struct {
				Keys []map[string]string `json:"keys"`
			}
			if err := json.Unmarshal(md.KeySet, &set); err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != len(tc.algs) {
				t.Fatalf("key set %s: %d keys, want %d (one per distinct key)", md.KeySet, len(set.Keys), len(tc.algs))
			}
			for _, jwk := range set.Keys {
				b64 := func(field string) []byte {
					b, err := base64.RawURLEncoding.DecodeString(jwk[field])
					if err != nil || len(b) == 0 {
						t.Fatalf("JWK %v: %s: %v", jwk, field, err)
					}
					return b
				}
				var pub crypto.PublicKey
				switch jwk["kty"] {
				case "EC":
					x, y := b64("x"), b64("y")
					if jwk["alg"] != "ES256" || jwk["crv"] != "P-256" || len(x) != 32 || len(y) != 32 ||
						new(big.Int).SetBytes(x).Cmp(ek.X) != 0 || new(big.Int).SetBytes(y).Cmp(ek.Y) != 0 {
						t.Errorf("EC JWK %v does not describe the P-256 key", jwk)
					}
					pub = ek.Public()
				case "RSA":
					if jwk["alg"] != "RS256" || new(big.Int).SetBytes(b64("n")).Cmp(rk.N) != 0 ||
						new(big.Int).SetBytes(b64("e")).Int64() != int64(rk.E) {
						t.Errorf("RSA JWK %v does not describe the RSA key", jwk)
					}
					pub = rk.Public()
				default:
					t.Fatalf("JWK %v: kty %q", jwk, jwk["kty"])
				}
				if kid, _ := keyID(pub); jwk["kid"] != kid || jwk["use"] != "sig" {
					t.Errorf("JWK %v: want kid %s and use sig", jwk, kid)
				}
				if _, ok := jwk["d"]; ok {
					t.Errorf("JWK %v holds the private key", jwk)
				}
			}

			// A relying party: the token's kid picks the key that verifies it.
			var jwks jose.JSONWebKeySet
			if err := json.Unmarshal(md.KeySet, &jwks); err != nil {
				t.Fatal(err)
			}
			_, sa, pod := testObjects()
			for _, k := range tc.keys {
				raw := issueWith(t, k, sa, pod)
				tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				found := jwks.Key(tok.Headers[0].KeyID)
				if len(found) != 1 || found[0].Algorithm != tok.Headers[0].Algorithm {
					t.Fatalf("kid %s: keys %v", tok.Headers[0].KeyID, found)
				}
				var c jwt.Claims
				if err := tok.Claims(found[0].Key, &c); err != nil || c.Issuer != DefaultIssuer {
					t.Errorf("verify with the JWKS: %v (iss %q)", err, c.Issuer)
				}
			}
		})
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestMountToken(t *testing.T) {
	no := false
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "a"}, {Name: "own", VolumeMounts: []corev1.VolumeMount{{Name: "mine", MountPath: MountPath}}}},
	}}
	DefaultServiceAccountName(pod)
	if pod.Spec.ServiceAccountName != "default" {
		t.Fatalf("serviceAccountName %q", pod.Spec.ServiceAccountName)
	}
	MountToken(pod)
	if len(pod.Spec.Volumes) != 1 || !strings.HasPrefix(pod.Spec.Volumes[0].Name, "kube-api-access-") || len(pod.Spec.Volumes[0].Name) != len("kube-api-access-")+5 {
		t.Fatalf("volumes %+v", pod.Spec.Volumes)
	}
	v := pod.Spec.Volumes[0].Projected
	if v == nil || len(v.Sources) != 3 || *v.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 ||
		v.Sources[1].ConfigMap.Name != "kube-root-ca.crt" || v.Sources[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
		t.Fatalf("projected volume %+v", v)
	}
	name := pod.Spec.Volumes[0].Name
	for _, c := range []corev1.Container{pod.Spec.InitContainers[0], pod.Spec.Containers[0]} {
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != name || !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != MountPath {
			t.Errorf("container %s mounts %+v", c.Name, c.VolumeMounts)
		}
	}
	if m := pod.Spec.Containers[1].VolumeMounts; len(m) != 1 || m[0].Name != "mine" {
		t.Errorf("a container with its own mount at the path got %+v", m)
	}
	MountToken(pod)
	if len(pod.Spec.Volumes) != 1 || len(pod.Spec.Containers[0].VolumeMounts) != 1 {
		t.Error("a second MountToken added more")
	}

	sa := &corev1.ServiceAccount{AutomountServiceAccountToken: &no}
	if ShouldAutomount(sa, &corev1.Pod{}) {
		t.Error("the ServiceAccount's automount false was ignored")
	}
	yes := true
	if !ShouldAutomount(sa, &corev1.Pod{Spec: corev1.PodSpec{AutomountServiceAccountToken: &yes}}) {
		t.Error("the pod's automount true should win")
	}
	if ShouldAutomount(&corev1.ServiceAccount{}, &corev1.Pod{Spec: corev1.PodSpec{AutomountServiceAccountToken: &no}}) {
		t.Error("the pod's automount false was ignored")
	}
}
