// Package serviceaccount owns Kubernetes' service-account credentials: the
// signing key pair (<data-dir>/pki/sa.key, sa.pub: ECDSA P-256 when made,
// or the RSA key of a data dir made before, kept as it is), the issuer of
// bound service-account tokens (JWTs with kube's claims, ES256 or RS256 by
// the key), the token authenticator that turns a valid token back into the
// user system:serviceaccount:<ns>:<name> (a token's alg must be its key's),
// the issuer-discovery document and JWKS, and the pod mutation the
// ServiceAccount admission plugin applies (default serviceAccountName, the
// kube-api-access-xxxxx projected volume and its mounts).
//
// It does not own the TokenRequest endpoint (internal/registry), the
// admission wiring (internal/apiserver), the controllers that create
// default ServiceAccounts and kube-root-ca.crt ConfigMaps
// (internal/controller/serviceaccount), nor the agent's token files
// (internal/agent/volume).
//
// Concurrency: Issuer and Authenticator are immutable after construction
// and safe for concurrent use; the authenticator's object lookups go
// through the Getter it is given.
package serviceaccount
