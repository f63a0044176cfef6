package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "n"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "c"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: "kubernetes.io/kube-apiserver-client",
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth},
		},
	}
}

func TestValidateCertificateSigningRequest(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*certificatesv1.CertificateSigningRequest)
		errs   int
	}{
		"valid":         {change: func(*certificatesv1.CertificateSigningRequest) {}},
		"no usages":     {change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil }, errs: 1},
		"unknown usage": {change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = []certificatesv1.KeyUsage{"fly"} }, errs: 1},
		"duplicate usage": {change: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, c.Spec.Usages[0])
		}, errs: 1},
		"signer no path":   {change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "kubernetes.io" }, errs: 1},
		"short expiration": {change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = ptr.To[int32](60) }, errs: 1},
		"not a CSR": {change: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Request = []byte("-----BEGIN X-----\n-----END X-----\n")
		}, errs: 1},
		"approved & denied": {change: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = cond("Approved", "Denied") }, errs: 1},
		"cert unapproved":   {change: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = []byte("x") }, errs: 2},
	} {
		t.Run(name, func(t *testing.T) {
			c := testCSR(t)
			tc.change(c)
			if errs := ValidateCertificateSigningRequest(c); len(errs) != tc.errs {
				t.Fatalf("got %d errors (%v), want %d", len(errs), errs, tc.errs)
			}
		})
	}
}

func TestValidateCertificateSigningRequestStatusUpdate(t *testing.T) {
	old := testCSR(t)
	old.ResourceVersion = "1"
	old.Status.Conditions = cond("Approved")
	upd := old.DeepCopy()
	upd.Status.Conditions = nil
	if errs := ValidateCertificateSigningRequestStatusUpdate(upd, old); len(errs) != 1 {
		t.Fatalf("removing Approved: got %v, want one error", errs)
	}
}

func cond(types ...certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, t := range types {
		out = append(out, certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue})
	}
	return out
}
