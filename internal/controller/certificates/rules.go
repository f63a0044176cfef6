package certificates

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

var labelsEverything = labels.Everything()

var (
	nodeClientUsages  = sets.New(certificatesv1.UsageKeyEncipherment, certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
	nodeServingUsages = sets.New(certificatesv1.UsageKeyEncipherment, certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
)

// nodeSubject checks CN system:node:<name> and O [system:nodes].
func nodeSubject(req *x509.CertificateRequest) error {
	if !strings.HasPrefix(req.Subject.CommonName, NodeUserPrefix) || len(req.Subject.CommonName) == len(NodeUserPrefix) {
		return fmt.Errorf("subject common name must be %s<node name>", NodeUserPrefix)
	}
	if len(req.Subject.Organization) != 1 || req.Subject.Organization[0] != NodesGroup {
		return fmt.Errorf("subject organization must be exactly [%s]", NodesGroup)
	}
	return nil
}

// nodeClientShape is what kube's kube-apiserver-client-kubelet signer
// accepts: a node subject, no SANs, client usages only.
func nodeClientShape(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) error {
	if err := nodeSubject(req); err != nil {
		return err
	}
	if len(req.DNSNames)+len(req.IPAddresses)+len(req.EmailAddresses)+len(req.URIs) > 0 {
		return errors.New("a node client certificate has no subject alternative names")
	}
	return usagesWithin(csr.Spec.Usages, nodeClientUsages, certificatesv1.UsageClientAuth)
}

// nodeServingShape is what kube's kubelet-serving signer accepts: a node
// subject, at least one DNS name or IP, no emails or URIs, server usages.
func nodeServingShape(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) error {
	if err := nodeSubject(req); err != nil {
		return err
	}
	if len(req.DNSNames)+len(req.IPAddresses) == 0 {
		return errors.New("a node serving certificate needs at least one DNS name or IP address")
	}
	if len(req.EmailAddresses)+len(req.URIs) > 0 {
		return errors.New("a node serving certificate has no email or URI names")
	}
	return usagesWithin(csr.Spec.Usages, nodeServingUsages, certificatesv1.UsageServerAuth)
}

// clientShape is what the kube-apiserver-client signer accepts: client auth
// and no server auth.
func clientShape(csr *certificatesv1.CertificateSigningRequest) error {
	if !slices.Contains(csr.Spec.Usages, certificatesv1.UsageClientAuth) {
		return errors.New("usages must include client auth")
	}
	if slices.Contains(csr.Spec.Usages, certificatesv1.UsageServerAuth) {
		return errors.New("usages may not include server auth")
	}
	return nil
}

func usagesWithin(usages []certificatesv1.KeyUsage, allowed sets.Set[certificatesv1.KeyUsage], required certificatesv1.KeyUsage) error {
	for _, u := range usages {
		if !allowed.Has(u) {
			return fmt.Errorf("usage %q is not allowed for this signer", u)
		}
	}
	if !slices.Contains(usages, required) {
		return fmt.Errorf("usages must include %q", required)
	}
	return nil
}

// sansAreNodes reports whether every DNS name and IP of req is the node's
// name or one of its addresses.
func sansAreNodes(req *x509.CertificateRequest, node *corev1.Node) bool {
	names := sets.New(node.Name)
	ips := sets.New[string]()
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			names.Insert(a.Address)
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			if ip := net.ParseIP(a.Address); ip != nil {
				ips.Insert(ip.String())
			}
		}
	}
	for _, d := range req.DNSNames {
		if !names.Has(d) {
			return false
		}
	}
	for _, ip := range req.IPAddresses {
		if !ips.Has(ip.String()) {
			return false
		}
	}
	return true
}

func hasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func approvedOrDenied(csr *certificatesv1.CertificateSigningRequest) bool {
	return hasCondition(csr, certificatesv1.CertificateApproved) || hasCondition(csr, certificatesv1.CertificateDenied)
}

// finished: denied or failed requests are never signed.
func finished(csr *certificatesv1.CertificateSigningRequest) bool {
	return hasCondition(csr, certificatesv1.CertificateDenied) || hasCondition(csr, certificatesv1.CertificateFailed)
}

// keyUsages maps a request's usages to x509's.
func keyUsages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage) {
	var ku x509.KeyUsage
	var eku []x509.ExtKeyUsage
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageDigitalSignature:
			ku |= x509.KeyUsageDigitalSignature
		case certificatesv1.UsageKeyEncipherment:
			ku |= x509.KeyUsageKeyEncipherment
		case certificatesv1.UsageServerAuth:
			eku = append(eku, x509.ExtKeyUsageServerAuth)
		case certificatesv1.UsageClientAuth:
			eku = append(eku, x509.ExtKeyUsageClientAuth)
		}
	}
	return ku, eku
}
