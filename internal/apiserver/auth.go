package apiserver

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	authzunion "k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// AdminUser is the admin token's user.
const AdminUser = "petset-admin"

// tokenAuthenticator accepts the admin token.
type tokenAuthenticator struct {
	admin string
}

func (t tokenAuthenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	if t.admin != "" && subtle.ConstantTimeCompare([]byte(token), []byte(t.admin)) == 1 {
		return &authenticator.Response{User: &user.DefaultInfo{
			Name: AdminUser, Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated},
		}}, true, nil
	}
	return nil, false, nil
}

// newAuthenticator is the union of the authenticators: client
// certificates of petset's CA, then bearer tokens (the admin token, the
// join token as a bootstrap token, then service-account tokens when
// serviceAccounts is not nil); a request without credentials is anonymous,
// a request with wrong ones is rejected with 401.
// It also returns the CA the TLS server requests client certificates for.
func newAuthenticator(cfg Config, serviceAccounts authenticator.Token) (authenticator.Request, dynamiccertificates.CAContentProvider, error) {
	var authns []authenticator.Request
	var clientCA dynamiccertificates.CAContentProvider
	if cfg.ClientCAFile != "" {
		certs, ca, err := newX509Authenticator(cfg.ClientCAFile)
		if err != nil {
			return nil, nil, err
		}
		authns = append(authns, certs)
		clientCA = ca
	}
	tokens := []authenticator.Token{tokenAuthenticator{admin: cfg.AdminToken}, bootstrapTokenAuthenticator{token: cfg.JoinToken}}
	if serviceAccounts != nil {
		tokens = append(tokens, serviceAccounts)
	}
	authns = append(authns,
		bearertoken.New(tokenunion.New(tokens...)),
		anonymous.NewAuthenticator(nil))
	return union.NewFailOnError(authns...), clientCA, nil
}

// publicPaths are the only things anonymous users may read, as on a
// default Kubernetes cluster (system:public-info-viewer).
var publicPaths = []string{"/healthz", "/livez", "/readyz", "/version"}

// catchAllExcluded are the groups the "authenticated may do everything"
// stopgap does not cover: their members get only what their own
// authorizer allows (bootstrappers: CSRs).
var catchAllExcluded = []string{BootstrappersGroup}

// newAuthorizer is the authorization chain: privileged users, then the
// given authorizers, then bootstrappers' CSR rights, then the stopgap that
// lets authenticated users do everything until RBAC decides. The first
// authorizer with an opinion decides.
func newAuthorizer(extra []authzunion.NamedAuthorizer) (authorizer.Authorizer, error) {
	chain := []authzunion.NamedAuthorizer{{AuthorizerName: "privileged", Authorizer: authorizer.AuthorizerFunc(privileged)}}
	chain = append(chain, extra...)
	chain = append(chain,
		authzunion.NamedAuthorizer{AuthorizerName: "bootstrappers", Authorizer: authorizer.AuthorizerFunc(bootstrappers)},
		authzunion.NamedAuthorizer{AuthorizerName: "authenticated", Authorizer: authorizer.AuthorizerFunc(authorize)})
	a, err := authzunion.New(chain...)
	if err != nil {
		return nil, fmt.Errorf("authorizers: %w", err)
	}
	return a, nil
}

// privileged allows system:masters everything.
func privileged(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if u := a.GetUser(); u != nil && inGroup(u, user.SystemPrivilegedGroup) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// authorize lets every authenticated user outside catchAllExcluded do
// everything, the excluded ones read discovery, and anonymous users read
// the health and version endpoints only. There are no anonymous writes.
func authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionDeny, "no user", nil
	}
	if isServiceAccount(u) {
		return authorizeServiceAccount(a)
	}
	excluded := false
	for _, g := range catchAllExcluded {
		excluded = excluded || inGroup(u, g)
	}
	authenticated := inGroup(u, user.AllAuthenticated)
	if authenticated && !excluded {
		return authorizer.DecisionAllow, "", nil
	}
	if !a.IsResourceRequest() && a.GetVerb() == "get" {
		paths := publicPaths
		if authenticated {
			paths = discoveryPaths
		}
		p := a.GetPath()
		for _, pub := range paths {
			if p == pub || strings.HasPrefix(p, pub+"/") {
				return authorizer.DecisionAllow, "", nil
			}
		}
	}
	if authenticated {
		return authorizer.DecisionDeny, fmt.Sprintf("user %q may not %s %s", u.GetName(), a.GetVerb(), describe(a)), nil
	}
	return authorizer.DecisionDeny, "anonymous requests are not allowed; use a bearer token (see the kubeconfig petset wrote)", nil
}

// describe names what a request is for, for denial messages.
func describe(a authorizer.Attributes) string {
	if !a.IsResourceRequest() {
		return a.GetPath()
	}
	r := a.GetResource()
	if a.GetSubresource() != "" {
		r += "/" + a.GetSubresource()
	}
	if a.GetAPIGroup() != "" {
		r += "." + a.GetAPIGroup()
	}
	if a.GetNamespace() != "" {
		r += " in namespace " + a.GetNamespace()
	}
	return r
}
