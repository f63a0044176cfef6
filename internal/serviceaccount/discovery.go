package serviceaccount

import (
	"crypto"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// The paths of the issuer's OpenID Connect discovery document and of its
// key set, as kube-apiserver serves them.
const (
	OpenIDConfigurationPath = "/.well-known/openid-configuration"
	JWKSPath                = "/openid/v1/jwks"
)

// OpenIDMetadata is what the API server serves for service-account issuer
// discovery (kube's ServiceAccountIssuerDiscovery): a relying party outside
// the cluster reads the keys from it to verify the tokens itself.
type OpenIDMetadata struct {
	// Configuration is the discovery document (application/json).
	Configuration []byte
	// KeySet is the JSON Web Key Set of the verification keys
	// (application/jwk-set+json).
	KeySet []byte
}

// openIDConfiguration is the discovery document kube serves.
type openIDConfiguration struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// NewOpenIDMetadata describes issuer iss ("" for DefaultIssuer), whose key
// set is served at jwksURI, verifying with keys (each an *rsa.PublicKey or
// an *ecdsa.PublicKey): each key is a JWK with its kid (the tokens' kid),
// use "sig" and its algorithm (RS256 for RSA, ES256 for ECDSA P-256).
func NewOpenIDMetadata(iss, jwksURI string, keys []crypto.PublicKey) (*OpenIDMetadata, error) {
	if iss == "" {
		iss = DefaultIssuer
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	algs := []string{}
	for _, k := range keys {
		alg, err := algorithm(k)
		if err != nil {
			return nil, err
		}
		kid, err := keyID(k)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(set.Keys, func(j jose.JSONWebKey) bool { return j.KeyID == kid }) {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(alg), Use: "sig"})
		if !slices.Contains(algs, string(alg)) {
			algs = append(algs, string(alg))
		}
	}
	slices.Sort(algs)
	keySet, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("service-account key set: %w", err)
	}
	conf, err := json.Marshal(openIDConfiguration{
		Issuer: iss, JWKSURI: jwksURI,
		ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"}, SigningAlgs: algs,
	})
	if err != nil {
		return nil, fmt.Errorf("service-account issuer discovery document: %w", err)
	}
	return &OpenIDMetadata{Configuration: conf, KeySet: keySet}, nil
}
