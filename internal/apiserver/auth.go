package apiserver

import (
	"context"
	"crypto/subtle"
	"fmt"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
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
	if cfg.TokenAuthFile != "" {
		static, err := tokenfile.NewCSV(cfg.TokenAuthFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--token-auth-file: %w", err)
		}
		tokens = append(tokens, group.NewTokenGroupAdder(static, []string{user.AllAuthenticated}))
	}
	if serviceAccounts != nil {
		tokens = append(tokens, serviceAccounts)
	}
	authns = append(authns,
		bearertoken.New(tokenunion.New(tokens...)),
		anonymous.NewAuthenticator(nil))
	return union.NewFailOnError(authns...), clientCA, nil
}

// newAuthorizer is the authorization chain; the first authorizer with an
// opinion decides: system:masters, then the given authorizers (the Node
// authorizer, which decides for system:nodes), then RBAC (which also grants
// bootstrappers their CSR rights and service accounts discovery).
// rbacAuthz also resolves rules for SelfSubjectRulesReview.
func newAuthorizer(extra []authzunion.NamedAuthorizer, rbacAuthz authorizer.Authorizer) (authorizer.Authorizer, error) {
	chain := []authzunion.NamedAuthorizer{{AuthorizerName: "privileged", Authorizer: authorizer.AuthorizerFunc(privileged)}}
	chain = append(chain, extra...)
	chain = append(chain, authzunion.NamedAuthorizer{AuthorizerName: "rbac", Authorizer: rbacAuthz})
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
