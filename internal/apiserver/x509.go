package apiserver

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"time"

	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// newX509Authenticator authenticates client certificates signed by the CA
// in caFile, as kube-apiserver's --client-ca-file does: the subject's
// common name is the user, its organizations the groups. The certificate
// must allow client authentication. It also returns the CA for the TLS
// server to request client certificates with.
func newX509Authenticator(caFile string) (authenticator.Request, dynamiccertificates.CAContentProvider, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("client CA: %w", err)
	}
	ca, err := dynamiccertificates.NewStaticCAContent("client-ca", pem)
	if err != nil {
		return nil, nil, fmt.Errorf("client CA %s: %w", caFile, err)
	}
	verify := group.NewAuthenticatedGroupAdder(x509request.NewDynamic(ca.VerifyOptions, x509request.CommonNameUserConversion))
	return newVerifiedChains(verify, time.Now), ca, nil
}

const (
	// verifiedChainsSize bounds how many client certificate chains are
	// remembered (one per node, controller or user certificate in use).
	verifiedChainsSize = 4096
	// verifiedChainTTL is the longest a chain's verification is reused;
	// a chain is never reused past the end of any of its certificates.
	verifiedChainTTL = 5 * time.Minute
)

// verifiedChains remembers, for a short while, the users that client
// certificate chains verified as: a connection's requests all carry the same
// chain, and its signature checks cost more than the rest of authentication
// (2.3 % of petset's CPU with 1,000 pods starting). Only successes are
// remembered, each no longer than verifiedChainTTL nor past the NotAfter of
// any certificate of the chain; the CA is static, and client certificates
// have no revocation in Kubernetes, so within that time a chain verifies as
// it did. Requests without client certificates pass through.
type verifiedChains struct {
	verify authenticator.Request
	now    func() time.Time
	cache  *utilcache.LRUExpireCache
}

func newVerifiedChains(verify authenticator.Request, now func() time.Time) *verifiedChains {
	return &verifiedChains{verify: verify, now: now, cache: utilcache.NewLRUExpireCacheWithClock(verifiedChainsSize, clockFunc(now))}
}

// AuthenticateRequest answers from a remembered verification of the
// request's chain, or verifies it.
func (v *verifiedChains) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return v.verify.AuthenticateRequest(req)
	}
	key := chainKey(req.TLS.PeerCertificates)
	if r, ok := v.cache.Get(key); ok {
		resp := *r.(*authenticator.Response)
		return &resp, true, nil
	}
	resp, ok, err := v.verify.AuthenticateRequest(req)
	if err != nil || !ok || resp == nil {
		return resp, ok, err
	}
	if ttl := chainTTL(req.TLS.PeerCertificates, v.now()); ttl > 0 {
		kept := *resp
		v.cache.Add(key, &kept, ttl)
	}
	return resp, ok, err
}

// chainKey identifies a chain by the hash of its certificates, in order.
func chainKey(chain []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range chain {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(c.Raw))))
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// chainTTL is how long a verification of chain made at now may be reused:
// verifiedChainTTL, cut at the earliest NotAfter of its certificates.
func chainTTL(chain []*x509.Certificate, now time.Time) time.Duration {
	ttl := verifiedChainTTL
	for _, c := range chain {
		ttl = min(ttl, c.NotAfter.Sub(now))
	}
	return ttl
}

// clockFunc is a clock.Clock's Now for LRUExpireCache.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }
