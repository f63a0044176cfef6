// Package apiserver owns petset's Kubernetes API endpoint: the scheme of
// served kinds, the k8s.io/apiserver GenericAPIServer configured with
// etcd storage (watch cache included), TLS, authentication (client
// certificates of petset's CA, the admin token, the join token as a
// bootstrap token, service-account tokens, --token-auth-file users), the
// authorization chain (system:masters → injected authorizers such as the
// Node authorizer → RBAC), admission (namespace lifecycle, service accounts, CSR approval and
// signing rights, the default StorageClass of new claims, injected plugins
// such as NodeRestriction, then k8s.io/apiserver's mutating webhook,
// ValidatingAdmissionPolicy and validating webhook plugins), discovery, OpenAPI,
// service-account issuer discovery (/.well-known/openid-configuration,
// /openid/v1/jwks), the review resources (access, rules, self-subject and
// token reviews, answered by the server's own authorizer and authenticator),
// the RBAC post-start hooks (informers, bootstrap policy), and the
// installation of the stores that internal/registry builds. Behind it, as its delegate, runs
// k8s.io/apiextensions-apiserver (CustomResourceDefinitions and custom
// resources, with the library's own controllers as post-start hooks);
// OpenAPI and discovery cover both (extensions.go). It does not run
// petset's controllers; callers get
// a loopback client config and start those themselves.
//
// Concurrency: New wires; Run serves until its context ends, then shuts
// the HTTP server down gracefully. Ready is closed once the API answers.
package apiserver
