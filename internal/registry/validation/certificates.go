package validation

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// knownUsages are the key usages a CertificateSigningRequest may name.
var knownUsages = sets.New(
	"signing", "digital signature", "content commitment", "key encipherment", "key agreement",
	"data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
	"server auth", "client auth", "code signing", "email protection", "s/mime",
	"ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
	"microsoft sgc", "netscape sgc",
)

// minExpirationSeconds is the shortest certificate lifetime a request may ask for.
const minExpirationSeconds = 600

// ValidateCertificateSigningRequest is kube's validation of a new
// certificates.k8s.io/v1 CertificateSigningRequest: a PEM "CERTIFICATE
// REQUEST" whose signature checks, known and unique usages, a qualified
// signer name and a lifetime of at least ten minutes.
func ValidateCertificateSigningRequest(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateObjectMeta(&csr.ObjectMeta, false, nameIsDNSSubdomain)
	spec := field.NewPath("spec")
	if _, err := ParseCSR(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), "<request>", err.Error()))
	}
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(spec.Child("usages"), "usages must be provided"))
	}
	seen := sets.New[string]()
	for i, u := range csr.Spec.Usages {
		p := spec.Child("usages").Index(i)
		if !knownUsages.Has(string(u)) {
			errs = append(errs, field.NotSupported(p, u, sets.List(knownUsages)))
		}
		if seen.Has(string(u)) {
			errs = append(errs, field.Duplicate(p, u))
		}
		seen.Insert(string(u))
	}
	errs = append(errs, validateSignerName(csr.Spec.SignerName, spec.Child("signerName"))...)
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < minExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *e, fmt.Sprintf("may not specify a duration less than %d seconds", minExpirationSeconds)))
	}
	return append(errs, validateCSRStatus(csr)...)
}

// ValidateCertificateSigningRequestUpdate validates a write of the main
// resource (the strategy keeps spec and status, so only metadata changes).
func ValidateCertificateSigningRequestUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateObjectMetaUpdate(&csr.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateCSRStatus(csr)...)
}

// ValidateCertificateSigningRequestStatusUpdate validates a write of the
// status or approval subresource: approval and denial are never removed, and
// an issued certificate never changes.
func ValidateCertificateSigningRequestStatusUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateObjectMetaUpdate(&csr.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateCSRStatus(csr)...)
	st := field.NewPath("status")
	if len(old.Status.Certificate) > 0 && string(old.Status.Certificate) != string(csr.Status.Certificate) {
		errs = append(errs, field.Invalid(st.Child("certificate"), "<certificate data>", "updates may not modify existing certificate content"))
	}
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if hasCondition(old, t) && !hasCondition(csr, t) {
			errs = append(errs, field.Forbidden(st.Child("conditions"), fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	return errs
}

func validateCSRStatus(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	var errs field.ErrorList
	st := field.NewPath("status")
	seen := sets.New[certificatesv1.RequestConditionType]()
	for i, c := range csr.Status.Conditions {
		p := st.Child("conditions").Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		}
		switch c.Status {
		case corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown:
		case "":
			errs = append(errs, field.Required(p.Child("status"), ""))
		default:
			errs = append(errs, field.NotSupported(p.Child("status"), c.Status, []string{"True", "False", "Unknown"}))
		}
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			if seen.Has(c.Type) {
				errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
			}
			if c.Status != corev1.ConditionTrue && c.Type != certificatesv1.CertificateFailed {
				errs = append(errs, field.NotSupported(p.Child("status"), c.Status, []string{"True"}))
			}
		}
		seen.Insert(c.Type)
	}
	if hasCondition(csr, certificatesv1.CertificateApproved) && hasCondition(csr, certificatesv1.CertificateDenied) {
		errs = append(errs, field.Invalid(st.Child("conditions"), csr.Status.Conditions, "Approved and Denied conditions are mutually exclusive"))
	}
	if len(csr.Status.Certificate) > 0 {
		p := st.Child("certificate")
		if !hasCondition(csr, certificatesv1.CertificateApproved) {
			errs = append(errs, field.Invalid(p, "<certificate data>", "certificate may only be set on approved requests"))
		}
		if err := validateCertificatePEM(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(p, "<certificate data>", err.Error()))
		}
	}
	return errs
}

func hasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// validateSignerName checks "<domain>/<path>": a DNS subdomain, then a path
// of at most 253 characters whose characters are those of a label, '.'
// and '/'.
func validateSignerName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || domain == "" || path == "" {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(domain) {
		errs = append(errs, field.Invalid(p, name, "domain: "+msg))
	}
	if len(path) > 253 {
		errs = append(errs, field.TooLong(p, name, len(domain)+254))
	}
	for _, r := range path {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r)) {
			errs = append(errs, field.Invalid(p, name, "path may only contain alphanumerics, '-', '_', '.' and '/'"))
			break
		}
	}
	return errs
}

// ParseCSR decodes a PEM "CERTIFICATE REQUEST" and checks its signature.
func ParseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("PEM block type must be CERTIFICATE REQUEST")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("must contain exactly one PEM block")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return req, nil
}

// validateCertificatePEM requires one or more PEM CERTIFICATE blocks and nothing else.
func validateCertificatePEM(data []byte) error {
	n := 0
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			if len(strings.TrimSpace(string(data))) > 0 {
				return fmt.Errorf("must contain only PEM CERTIFICATE blocks")
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("block %d: %w", n, err)
		}
		n++
		data = rest
	}
	if n == 0 {
		return fmt.Errorf("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}
