package apiserver

import (
	"context"
	"crypto/subtle"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// Bootstrap token identities, as kube's bootstrap token authenticator
// gives them.
const (
	BootstrapUserPrefix = "system:bootstrap:"
	BootstrappersGroup  = "system:bootstrappers"
)

// bootstrapTokenAuthenticator accepts the join token as a bootstrap token:
// user system:bootstrap:<token id>, group system:bootstrappers. The token
// id is the part before the dot of "<id>.<secret>" (the first six
// characters of a join token from before that format).
type bootstrapTokenAuthenticator struct {
	token string
}

func (b bootstrapTokenAuthenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	if b.token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(b.token)) != 1 {
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{
		Name:   BootstrapUserPrefix + bootstrapTokenID(b.token),
		Groups: []string{BootstrappersGroup, user.AllAuthenticated},
	}}, true, nil
}

func bootstrapTokenID(token string) string {
	if id, _, ok := strings.Cut(token, "."); ok {
		return id
	}
	return token[:min(6, len(token))]
}

// bootstrappers lets bootstrap token users do what kube's
// system:node-bootstrapper role allows (create, get, list and watch
// CertificateSigningRequests) plus discovery; nothing else.
func bootstrappers(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil || !inGroup(u, BootstrappersGroup) {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if a.IsResourceRequest() && a.GetAPIGroup() == "certificates.k8s.io" && a.GetResource() == "certificatesigningrequests" && a.GetSubresource() == "" {
		switch a.GetVerb() {
		case "create", "get", "list", "watch":
			return authorizer.DecisionAllow, "", nil
		}
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func inGroup(u user.Info, group string) bool {
	for _, g := range u.GetGroups() {
		if g == group {
			return true
		}
	}
	return false
}
