package apiserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"

	"petset/internal/pki"
)

// issue makes a client certificate for user (groups) signed by ca, valid
// for lifetime.
func issue(t *testing.T, ca *pki.CA, user string, groups []string, lifetime time.Duration) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &key.PublicKey, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newCA(t *testing.T) (pki.Files, *pki.CA) {
	t.Helper()
	f := pki.Files{Dir: t.TempDir()}
	if err := f.Ensure([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	ca, err := f.LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	return f, ca
}

func withCert(c *x509.Certificate) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1/api", nil)
	req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	return req
}

// countingAuth counts the verifications that reach the real authenticator.
type countingAuth struct {
	inner authenticator.Request
	mu    sync.Mutex
	n     int
}

func (c *countingAuth) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.inner.AuthenticateRequest(req)
}

func (c *countingAuth) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// A verified chain is reused (the same user, no second verification) until
// its TTL ends; other certificates, and ones the CA did not sign, are
// verified on their own.
func TestVerifiedChainsReuseOnlyWhatVerified(t *testing.T) {
	files, ca := newCA(t)
	_, otherCA := newCA(t)
	real, _, err := newX509Authenticator(files.CACert())
	if err != nil {
		t.Fatal(err)
	}
	inner := &countingAuth{inner: real.(*verifiedChains).verify}
	now := time.Now()
	clock := func() time.Time { return now }
	auth := newVerifiedChains(inner, clock)

	node := issue(t, ca, "system:node:n1", []string{"system:nodes"}, time.Hour)
	for i := range 3 {
		resp, ok, err := auth.AuthenticateRequest(withCert(node))
		if err != nil || !ok {
			t.Fatalf("request %d: ok=%v err=%v", i, ok, err)
		}
		if resp.User.GetName() != "system:node:n1" || !slices.Contains(resp.User.GetGroups(), "system:nodes") ||
			!slices.Contains(resp.User.GetGroups(), "system:authenticated") {
			t.Fatalf("request %d: user %q groups %v", i, resp.User.GetName(), resp.User.GetGroups())
		}
	}
	if got := inner.count(); got != 1 {
		t.Fatalf("%d verifications of one chain, want 1", got)
	}

	admin := issue(t, ca, "admin", []string{"system:masters"}, time.Hour)
	if resp, ok, err := auth.AuthenticateRequest(withCert(admin)); err != nil || !ok || resp.User.GetName() != "admin" {
		t.Fatalf("second certificate: ok=%v err=%v", ok, err)
	}
	forged := issue(t, otherCA, "system:node:n1", []string{"system:nodes"}, time.Hour)
	for range 2 {
		if _, ok, _ := auth.AuthenticateRequest(withCert(forged)); ok {
			t.Fatal("a certificate of another CA with the same subject authenticated")
		}
	}
	if got := inner.count(); got != 4 {
		t.Fatalf("%d verifications, want 4 (node once, admin once, the forged one each time)", got)
	}

	now = now.Add(verifiedChainTTL + time.Second)
	if _, ok, err := auth.AuthenticateRequest(withCert(node)); err != nil || !ok {
		t.Fatalf("after the TTL: ok=%v err=%v", ok, err)
	}
	if got := inner.count(); got != 5 {
		t.Fatalf("%d verifications after the TTL, want 5", got)
	}
}

// A chain is not reused past the end of any of its certificates.
func TestChainTTL(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	cert := func(notAfter time.Time) *x509.Certificate { return &x509.Certificate{NotAfter: notAfter} }
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		want  time.Duration
	}{
		{"long-lived", []*x509.Certificate{cert(now.Add(24 * time.Hour))}, verifiedChainTTL},
		{"leaf ends soon", []*x509.Certificate{cert(now.Add(time.Minute))}, time.Minute},
		{"intermediate ends soon", []*x509.Certificate{cert(now.Add(time.Hour)), cert(now.Add(30 * time.Second))}, 30 * time.Second},
		{"expired", []*x509.Certificate{cert(now.Add(-time.Second))}, -time.Second},
	} {
		if got := chainTTL(tc.chain, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The chain key tells chains apart by every certificate and its position.
func TestChainKey(t *testing.T) {
	a, b := &x509.Certificate{Raw: []byte("ab")}, &x509.Certificate{Raw: []byte("c")}
	c, d := &x509.Certificate{Raw: []byte("a")}, &x509.Certificate{Raw: []byte("bc")}
	if chainKey([]*x509.Certificate{a, b}) == chainKey([]*x509.Certificate{c, d}) {
		t.Fatal("chains with the same bytes split differently share a key")
	}
	if chainKey([]*x509.Certificate{a, b}) == chainKey([]*x509.Certificate{b, a}) {
		t.Fatal("chains in another order share a key")
	}
}
