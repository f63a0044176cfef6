package apiserver

import (
	"context"
	"crypto/subtle"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
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

func inGroup(u user.Info, group string) bool {
	for _, g := range u.GetGroups() {
		if g == group {
			return true
		}
	}
	return false
}
