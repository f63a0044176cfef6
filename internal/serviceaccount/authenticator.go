package serviceaccount

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
)

// leeway is the clock skew tolerated on exp, nbf and iat, and how long a
// deleted pod's tokens stay valid (kube's 60 seconds).
const leeway = time.Minute

// Getter reads the objects a token names. A missing object is an error
// satisfying apierrors.IsNotFound.
type Getter interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
}

// Authenticator validates service-account tokens of one issuer: the
// signature by one of its keys (RS256 for an RSA key, ES256 for an ECDSA
// P-256 key: the token's alg must be its key's), exp/nbf/iat, an audience
// it accepts, and that the ServiceAccount (and the pod the token is bound
// to) still exist with the UIDs in the token.
type Authenticator struct {
	iss       string
	keys      []verificationKey
	algs      []jose.SignatureAlgorithm
	audiences []string
	objects   Getter
	now       func() time.Time
}

// verificationKey is a public key and the one algorithm it verifies.
type verificationKey struct {
	key crypto.PublicKey
	alg jose.SignatureAlgorithm
}

// NewAuthenticator accepts tokens of issuer iss ("" for DefaultIssuer)
// signed by keys (each an *rsa.PublicKey or an *ecdsa.PublicKey), for any
// of audiences (none: the issuer itself).
func NewAuthenticator(iss string, keys []crypto.PublicKey, audiences []string, objects Getter) (*Authenticator, error) {
	if iss == "" {
		iss = DefaultIssuer
	}
	if len(audiences) == 0 {
		audiences = []string{iss}
	}
	a := &Authenticator{iss: iss, audiences: audiences, objects: objects, now: time.Now}
	for _, k := range keys {
		alg, err := algorithm(k)
		if err != nil {
			return nil, err
		}
		a.keys = append(a.keys, verificationKey{key: k, alg: alg})
		if !slices.Contains(a.algs, alg) {
			a.algs = append(a.algs, alg)
		}
	}
	return a, nil
}

var _ authenticator.Token = &Authenticator{}

// Errors a client may see (kube's wording).
var (
	errExpired     = errors.New("service account token has expired")
	errInvalidated = errors.New("service account token has been invalidated")
)

// AuthenticateToken returns the service account's user for a valid token.
// A token that is not a JWT of this issuer is not ours: (nil, false, nil),
// so other authenticators may try it.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil
	}
	// Only the algorithms of the keys parse: "none", HMAC and any other
	// algorithm is not a token of ours.
	tok, err := jwt.ParseSigned(token, a.algs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, false, nil
	}
	alg := jose.SignatureAlgorithm(tok.Headers[0].Algorithm)
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer != a.iss {
		return nil, false, nil
	}
	var sc jwt.Claims
	var pc PrivateClaims
	verified := false
	for _, k := range a.keys {
		// A key verifies only its own algorithm's signatures (no RS256
		// header checked against an ECDSA key, nor the reverse).
		if k.alg != alg {
			continue
		}
		if err := tok.Claims(k.key, &sc, &pc); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, false, errors.New("invalid bearer token: service account token signature is invalid")
	}
	if err := sc.ValidateWithLeeway(jwt.Expected{Issuer: a.iss, Time: a.now()}, leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, false, errExpired
		case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
			return nil, false, errors.New("service account token is not valid yet")
		}
		return nil, false, fmt.Errorf("invalid service account token: %w", err)
	}
	if sc.Expiry == nil {
		return nil, false, errors.New("invalid service account token: no expiry")
	}
	var auds []string
	for _, want := range a.audiences {
		if sc.Audience.Contains(want) {
			auds = append(auds, want)
		}
	}
	if len(auds) == 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", []string(sc.Audience), a.audiences)
	}
	info, err := a.validate(ctx, &sc, &pc)
	if err != nil {
		return nil, false, err
	}
	u := info.UserInfo().(*user.DefaultInfo)
	u.Groups = append(u.Groups, user.AllAuthenticated)
	return &authenticator.Response{User: u, Audiences: auds}, true, nil
}

// validate checks the objects the token names still exist as they were.
func (a *Authenticator) validate(ctx context.Context, sc *jwt.Claims, pc *PrivateClaims) (*apiserverserviceaccount.ServiceAccountInfo, error) {
	k := pc.Kubernetes
	ns, name, err := apiserverserviceaccount.SplitUsername(sc.Subject)
	if err != nil || ns != k.Namespace || name != k.ServiceAccount.Name || k.ServiceAccount.UID == "" {
		return nil, errors.New("invalid service account token: subject does not match its kubernetes.io claims")
	}
	sa, err := a.objects.ServiceAccount(ctx, ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errInvalidated
		}
		return nil, fmt.Errorf("service account token: looking up service account %s/%s: %w", ns, name, err)
	}
	if sa.DeletionTimestamp != nil || string(sa.UID) != k.ServiceAccount.UID {
		return nil, errInvalidated
	}
	info := &apiserverserviceaccount.ServiceAccountInfo{Namespace: ns, Name: name, UID: string(sa.UID), CredentialID: credentialID(sc)}
	if k.Pod != nil {
		pod, err := a.objects.Pod(ctx, ns, k.Pod.Name)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil, errInvalidated
			}
			return nil, fmt.Errorf("service account token: looking up pod %s/%s: %w", ns, k.Pod.Name, err)
		}
		if string(pod.UID) != k.Pod.UID {
			return nil, errInvalidated
		}
		if pod.DeletionTimestamp != nil && pod.DeletionTimestamp.Time.Before(a.now().Add(-leeway)) {
			return nil, errInvalidated
		}
		info.PodName, info.PodUID = pod.Name, string(pod.UID)
	}
	if k.Node != nil {
		info.NodeName, info.NodeUID = k.Node.Name, k.Node.UID
	}
	return info, nil
}

// credentialID is what audit logs name the token by, as kube does.
func credentialID(sc *jwt.Claims) string {
	if sc.ID == "" {
		return ""
	}
	return "JTI=" + sc.ID
}
