package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"petset/internal/pki"
)

// certClient is a client of c that authenticates with a client
// certificate for user/groups signed by ca.
func certClient(t *testing.T, c *cluster, ca *pki.CA, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := ca.IssueClient(crt, key, user, groups, time.Hour); err != nil {
		t.Fatal(err)
	}
	cfg := &restclient.Config{Host: c.cp.ServerURL(), TLSClientConfig: restclient.TLSClientConfig{
		CAFile: c.cp.CAFile(), CertFile: crt, KeyFile: key,
	}}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestClientCertificateAuthentication(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	ca, err := pki.Files{Dir: filepath.Join(c.dataDir, "pki")}.LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	// RBAC: group dev may view and create CSRs.
	for _, role := range []string{"view", "system:node-bootstrapper"} {
		if _, err := c.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "dev-" + strings.ReplaceAll(role, ":", "-")},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "dev"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	alice := certClient(t, c, ca, "alice", "dev")
	eventually(t, "alice's certificate from petset's CA lists namespaces", func() (bool, error) {
		_, err := alice.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
	// The CSR records who asked: the certificate's common name and
	// organizations, and system:authenticated.
	csr, err := alice.CertificatesV1().CertificateSigningRequests().Create(ctx, newCSR(t, "alice-csr", "example.com/test", "alice", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if csr.Spec.Username != "alice" || strings.Join(csr.Spec.Groups, ",") != "dev,system:authenticated" {
		t.Fatalf("csr records user %q groups %v, want alice [dev system:authenticated]", csr.Spec.Username, csr.Spec.Groups)
	}

	// A certificate of another CA with the same name is refused (401).
	otherDir := t.TempDir()
	other := pki.Files{Dir: otherDir}
	if err := other.Ensure([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	otherCA, err := other.LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	mallory := certClient(t, c, otherCA, "alice", "system:masters")
	_, err = mallory.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("certificate of a foreign CA: want 401, got %v", err)
	}
}

// newCSR is a CertificateSigningRequest for a new key with common name cn
// and organizations orgs.
func newCSR(t *testing.T, name, signer, cn string, orgs []string, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(usages) == 0 {
		usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: signer,
			Usages:     usages,
		},
	}
}

func TestCertificateSigningRequestAPI(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	csrs := c.client.CertificatesV1().CertificateSigningRequests()

	bad := newCSR(t, "bad", "example.com/test", "x", nil)
	bad.Spec.Request = []byte("not a request")
	if _, err := csrs.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("garbage request: want 422, got %v", err)
	}
	noSigner := newCSR(t, "nosigner", "", "x", nil)
	if _, err := csrs.Create(ctx, noSigner, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("no signer: want 422, got %v", err)
	}

	in := newCSR(t, "req", "example.com/test", "x", nil)
	in.Spec.Username = "someone-else"
	in.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	csr, err := csrs.Create(ctx, in, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if csr.Spec.Username != "petset-admin" || len(csr.Status.Conditions) != 0 {
		t.Fatalf("create kept client-set username %q / conditions %v", csr.Spec.Username, csr.Status.Conditions)
	}

	// /status does not approve.
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "ViaStatus"}}
	csr, err = csrs.UpdateStatus(ctx, csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(csr.Status.Conditions) != 0 {
		t.Fatalf("/status set conditions %v", csr.Status.Conditions)
	}
	// /approval does.
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"}}
	csr, err = csrs.UpdateApproval(ctx, "req", csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(csr.Status.Conditions) != 1 || csr.Status.Conditions[0].LastUpdateTime.IsZero() {
		t.Fatalf("after approval: conditions %v", csr.Status.Conditions)
	}
	// Approved and Denied exclude each other.
	deny := csr.DeepCopy()
	deny.Status.Conditions = append(deny.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue})
	if _, err := csrs.UpdateApproval(ctx, "req", deny, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("approve and deny: want 422, got %v", err)
	}
	// The spec never changes.
	csr.Spec.SignerName = "example.com/other"
	csr, err = csrs.Update(ctx, csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if csr.Spec.SignerName != "example.com/test" {
		t.Fatalf("spec changed to signer %q", csr.Spec.SignerName)
	}
	// Field selector on the signer, as kube-controller-manager uses.
	list, err := csrs.List(ctx, metav1.ListOptions{FieldSelector: "spec.signerName=example.com/test"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list by signer: %v items, err %v", len(list.Items), err)
	}
}

// waitIssued waits until the named request has a certificate and returns it.
func waitIssued(t *testing.T, client kubernetes.Interface, name string) *x509.Certificate {
	t.Helper()
	var cert *x509.Certificate
	eventually(t, "certificate of "+name, func() (bool, error) {
		csr, err := client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || len(csr.Status.Certificate) == 0 {
			return false, err
		}
		block, _ := pem.Decode(csr.Status.Certificate)
		cert, err = x509.ParseCertificate(block.Bytes)
		return err == nil, err
	})
	return cert
}

func TestNodeCertificatesApprovedAndSigned(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	files := pki.Files{Dir: filepath.Join(c.dataDir, "pki")}
	ca, err := files.LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	// A bootstrapper asks for node n1's client certificate: approved and signed.
	bootstrapper := certClient(t, c, ca, "system:bootstrap:abcdef", "system:bootstrappers")
	nodeOrg := []string{"system:nodes"}
	in := newCSR(t, "n1-client", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:node:n1", nodeOrg)
	if _, err := bootstrapper.CertificatesV1().CertificateSigningRequests().Create(ctx, in, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cert := waitIssued(t, c.client, "n1-client")
	if cert.Subject.CommonName != "system:node:n1" || strings.Join(cert.Subject.Organization, ",") != "system:nodes" {
		t.Fatalf("issued subject %v", cert.Subject)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("issued client certificate does not verify as a client certificate of petset's CA: %v", err)
	}
	csr, err := c.client.CertificatesV1().CertificateSigningRequests().Get(ctx, "n1-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(csr.Status.Conditions) != 1 || csr.Status.Conditions[0].Reason != "AutoApproved" {
		t.Fatalf("conditions %v", csr.Status.Conditions)
	}

	// Node n1 asks for a serving certificate for its IP: signed once its
	// Node object lists that address.
	node := certClient(t, c, ca, "system:node:n1", "system:nodes")
	serving := newCSR(t, "n1-serving", certificatesv1.KubeletServingSignerName, "system:node:n1", nodeOrg,
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
	serving.Spec.Request = servingRequest(t, "system:node:n1", "10.9.0.1")
	if _, err := node.CertificatesV1().CertificateSigningRequests().Create(ctx, serving, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.9.0.1"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scert := waitIssued(t, c.client, "n1-serving")
	if _, err := scert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("serving certificate: %v", err)
	}
	if err := scert.VerifyHostname("10.9.0.1"); err != nil {
		t.Fatal(err)
	}
}

// servingRequest is a PEM certificate request for cn with one IP SAN.
func servingRequest(t *testing.T, cn, ip string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}, IPAddresses: []net.IP{net.ParseIP(ip)},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestBootstrapTokenOnlyCSRs(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	cfg := restclient.AnonymousClientConfig(c.config)
	cfg.BearerToken = c.cp.JoinToken()
	boot, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := boot.CertificatesV1().CertificateSigningRequests().Create(ctx, newCSR(t, "boot", "example.com/x", "x", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bootstrap token creating a CSR: %v", err)
	}
	id, _, _ := strings.Cut(c.cp.JoinToken(), ".")
	if csr.Spec.Username != "system:bootstrap:"+id || !strings.Contains(strings.Join(csr.Spec.Groups, ","), "system:bootstrappers") {
		t.Fatalf("CSR requestor %q %v", csr.Spec.Username, csr.Spec.Groups)
	}
	if _, err := boot.CertificatesV1().CertificateSigningRequests().Get(ctx, "boot", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := boot.Discovery().ServerGroups(); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for what, call := range map[string]func() error{
		"list pods":    func() error { _, err := boot.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); return err },
		"list secrets": func() error { _, err := boot.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); return err },
		"create node": func() error {
			_, err := boot.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		},
		"approve a CSR": func() error {
			_, err := boot.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "boot", csr, metav1.UpdateOptions{})
			return err
		},
		"delete a CSR": func() error {
			return boot.CertificatesV1().CertificateSigningRequests().Delete(ctx, "boot", metav1.DeleteOptions{})
		},
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("bootstrap token may not %s: want 403, got %v", what, err)
		}
	}
}

// TestCSRApprovalNeedsSignerPermission: kube's CertificateApproval and
// CertificateSubjectRestriction admission.
func TestCSRApprovalNeedsSignerPermission(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	ca, err := pki.Files{Dir: filepath.Join(c.dataDir, "pki")}.LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"create", "get"}},
		{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}, Verbs: []string{"update"}},
	}
	grant := func(name string, rules []rbacv1.PolicyRule) {
		t.Helper()
		if _, err := c.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "approver"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	grant("csr-writer", rules)
	approver := certClient(t, c, ca, "approver")
	csrs := approver.CertificatesV1().CertificateSigningRequests()

	var csr *certificatesv1.CertificateSigningRequest
	eventually(t, "RBAC lets the approver create CSRs", func() (bool, error) {
		csr, err = csrs.Create(ctx, newCSR(t, "mint-node", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:node:x", []string{"system:nodes"}), metav1.CreateOptions{})
		return err == nil, err
	})
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Manual"}}
	_, err = csrs.UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("approving a node client CSR without approve on its signer: want 403, got %v", err)
	}

	grant("example-approver", []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, ResourceNames: []string{"example.com/*"}, Verbs: []string{"approve"}}})
	other, err := csrs.Create(ctx, newCSR(t, "example", "example.com/test", "x", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other.Status.Conditions = csr.Status.Conditions
	eventually(t, "approve on example.com/* allows approving example.com/test", func() (bool, error) {
		_, err := csrs.UpdateApproval(ctx, other.Name, other, metav1.UpdateOptions{})
		return err == nil, err
	})
	if _, err := csrs.UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("approve on example.com/* still may not approve the kubelet signer: got %v", err)
	}

	// Nobody asks the kube-apiserver-client signer for system:masters.
	masters := newCSR(t, "masters", certificatesv1.KubeAPIServerClientSignerName, "eve", []string{"system:masters"})
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().Create(ctx, masters, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a kube-apiserver-client CSR for system:masters: want 403, got %v", err)
	}
}
