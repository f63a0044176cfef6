package apiserver

import (
	"context"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"petset/internal/registry/validation"
)

// csrAdmission is what kube's CertificateApproval, CertificateSigning and
// CertificateSubjectRestriction admission plugins do:
//   - approving or denying a request (/approval) needs the "approve" verb
//     on certificates.k8s.io "signers" named after its signer (or
//     "<domain>/*");
//   - issuing a certificate (/status with a new status.certificate) needs
//     the "sign" verb likewise;
//   - a kubernetes.io/kube-apiserver-client request may not ask for group
//     system:masters.
type csrAdmission struct {
	authz authorizer.Authorizer
}

var _ admission.ValidationInterface = &csrAdmission{}

func (c *csrAdmission) Handles(op admission.Operation) bool {
	return op == admission.Create || op == admission.Update
}

func (c *csrAdmission) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != certificatesv1.Resource("certificatesigningrequests") {
		return nil
	}
	csr, ok := a.GetObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return nil
	}
	switch {
	case a.GetOperation() == admission.Create && a.GetSubresource() == "":
		if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
			return nil
		}
		req, err := validation.ParseCSR(csr.Spec.Request)
		if err != nil {
			return nil // validation reports it
		}
		for _, o := range req.Subject.Organization {
			if o == "system:masters" {
				return admission.NewForbidden(a, fmt.Errorf("use of %s signer with system:masters group is not allowed", csr.Spec.SignerName))
			}
		}
	case a.GetOperation() == admission.Update && a.GetSubresource() == "approval":
		return c.allowed(ctx, a, "approve", csr.Spec.SignerName)
	case a.GetOperation() == admission.Update && a.GetSubresource() == "status":
		old, ok := a.GetOldObject().(*certificatesv1.CertificateSigningRequest)
		if ok && string(old.Status.Certificate) != string(csr.Status.Certificate) {
			return c.allowed(ctx, a, "sign", csr.Spec.SignerName)
		}
	}
	return nil
}

// allowed asks the authorizer whether the requesting user may verb the
// signer, by its name or its domain's wildcard.
func (c *csrAdmission) allowed(ctx context.Context, a admission.Attributes, verb, signer string) error {
	names := []string{signer}
	if domain, _, ok := strings.Cut(signer, "/"); ok {
		names = append(names, domain+"/*")
	}
	for _, name := range names {
		d, _, err := c.authz.Authorize(ctx, authorizer.AttributesRecord{
			User: a.GetUserInfo(), Verb: verb, APIGroup: "certificates.k8s.io", APIVersion: "*",
			Resource: "signers", Name: name, ResourceRequest: true,
		})
		if err == nil && d == authorizer.DecisionAllow {
			return nil
		}
	}
	return admission.NewForbidden(a, fmt.Errorf("user not permitted to %s requests with signerName %q", verb, signer))
}
