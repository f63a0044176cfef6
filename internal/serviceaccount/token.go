package serviceaccount

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
)

// DefaultIssuer is the iss claim of petset's tokens, and their default
// audience: kube-apiserver's --service-account-issuer on a cluster whose
// domain is cluster.local.
const DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

// PrivateClaims are the claims under "kubernetes.io", as kube issues them.
type PrivateClaims struct {
	Kubernetes KubernetesClaims `json:"kubernetes.io,omitempty"`
}

// KubernetesClaims name the objects a token belongs and is bound to.
type KubernetesClaims struct {
	Namespace      string `json:"namespace,omitempty"`
	ServiceAccount Ref    `json:"serviceaccount,omitempty"`
	Pod            *Ref   `json:"pod,omitempty"`
	Node           *Ref   `json:"node,omitempty"`
}

// Ref is an object's name and UID.
type Ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// Claims are the claims of a token for sa, bound to pod (nil for an
// unbound token) and, when pod runs on one, its node, valid from now for
// expiration, for audiences.
func Claims(sa *corev1.ServiceAccount, pod *corev1.Pod, node *corev1.Node, now time.Time, expiration time.Duration, audiences []string) (*jwt.Claims, *PrivateClaims) {
	sc := &jwt.Claims{
		Subject:   apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
		Audience:  jwt.Audience(audiences),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(expiration)),
		ID:        uuid.NewString(),
	}
	pc := &PrivateClaims{Kubernetes: KubernetesClaims{
		Namespace:      sa.Namespace,
		ServiceAccount: Ref{Name: sa.Name, UID: string(sa.UID)},
	}}
	if pod != nil {
		pc.Kubernetes.Pod = &Ref{Name: pod.Name, UID: string(pod.UID)}
	}
	if node != nil {
		pc.Kubernetes.Node = &Ref{Name: node.Name, UID: string(node.UID)}
	}
	return sc, pc
}

// Issuer signs tokens with the service-account key: ES256 with the ECDSA
// P-256 key EnsureKeys generates, RS256 with an RSA key.
type Issuer struct {
	iss    string
	signer jose.Signer
}

// NewIssuer returns an issuer named iss ("" for DefaultIssuer) signing with
// key, an *rsa.PrivateKey or an *ecdsa.PrivateKey (the algorithm follows
// from the key, as kube's does).
func NewIssuer(iss string, key crypto.Signer) (*Issuer, error) {
	if iss == "" {
		iss = DefaultIssuer
	}
	alg, err := algorithm(key.Public())
	if err != nil {
		return nil, err
	}
	kid, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("service-account token signer: %w", err)
	}
	return &Issuer{iss: iss, signer: signer}, nil
}

// Name is the issuer's iss claim.
func (i *Issuer) Name() string { return i.iss }

// Issue signs a token with the public and private claims; iss is set here.
func (i *Issuer) Issue(sc *jwt.Claims, pc *PrivateClaims) (string, error) {
	c := *sc
	c.Issuer = i.iss
	tok, err := jwt.Signed(i.signer).Claims(&c).Claims(pc).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign service-account token: %w", err)
	}
	return tok, nil
}

// keyID is kube's key id: the unpadded base64url SHA-256 of the DER public key.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("service-account key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// JWTClaims are a token's registered (public) claims.
type JWTClaims = jwt.Claims
