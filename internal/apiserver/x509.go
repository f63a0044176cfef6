package apiserver

import (
	"fmt"
	"os"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// newX509Authenticator authenticates client certificates signed by the CA
// in caFile, as kube-apiserver's --client-ca-file does: the subject's
// common name is the user, its organizations the groups. The certificate
// must allow client authentication. It also returns the CA for the TLS
// server to request client certificates with.
func newX509Authenticator(caFile string) (authenticator.Request, dynamiccertificates.CAContentProvider, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("client CA: %w", err)
	}
	ca, err := dynamiccertificates.NewStaticCAContent("client-ca", pem)
	if err != nil {
		return nil, nil, fmt.Errorf("client CA %s: %w", caFile, err)
	}
	return group.NewAuthenticatedGroupAdder(x509request.NewDynamic(ca.VerifyOptions, x509request.CommonNameUserConversion)), ca, nil
}
