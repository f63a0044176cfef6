package apiserver

import (
	"context"
	"crypto/subtle"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// Token users. The join token is what node agents present.
const (
	AdminUser = "petset-admin"
	NodeGroup = "system:nodes"
)

// tokenAuthenticator accepts the admin and the join token, nothing else.
type tokenAuthenticator struct {
	admin, join string
}

func (t tokenAuthenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	switch {
	case t.admin != "" && subtle.ConstantTimeCompare([]byte(token), []byte(t.admin)) == 1:
		return &authenticator.Response{User: &user.DefaultInfo{
			Name: AdminUser, Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated},
		}}, true, nil
	case t.join != "" && subtle.ConstantTimeCompare([]byte(token), []byte(t.join)) == 1:
		return &authenticator.Response{User: &user.DefaultInfo{
			Name: "system:node-agent", Groups: []string{NodeGroup, user.AllAuthenticated},
		}}, true, nil
	}
	return nil, false, nil
}

// newAuthenticator is the union of the authenticators: client
// certificates of petset's CA, then bearer tokens (the admin and join
// tokens, then service-account tokens when serviceAccounts is not nil); a
// request without credentials is anonymous, a request with wrong ones is
// rejected with 401.
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
	tokens := []authenticator.Token{tokenAuthenticator{admin: cfg.AdminToken, join: cfg.JoinToken}}
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

// authorize lets every authenticated user do everything and anonymous
// users read the health and version endpoints only. There are no
// anonymous writes.
func authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionDeny, "no user", nil
	}
	if isServiceAccount(u) {
		return authorizeServiceAccount(a)
	}
	for _, g := range u.GetGroups() {
		if g == user.AllAuthenticated || g == user.SystemPrivilegedGroup {
			return authorizer.DecisionAllow, "", nil
		}
	}
	if !a.IsResourceRequest() && a.GetVerb() == "get" {
		p := a.GetPath()
		for _, pub := range publicPaths {
			if p == pub || strings.HasPrefix(p, pub+"/") {
				return authorizer.DecisionAllow, "", nil
			}
		}
	}
	return authorizer.DecisionDeny, "anonymous requests are not allowed; use a bearer token (see the kubeconfig petset wrote)", nil
}
