package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func request(t *testing.T, cn string, orgs []string, dns []string, ips ...string) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}, DNSNames: dns}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func csrOf(signer, user string, groups []string, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
		SignerName: signer, Username: user, Groups: groups, Usages: usages,
	}}
}

func TestApprovable(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = idx.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeHostName, Address: "n1"},
	}}})
	c := &Controller{nodes: corelisters.NewNodeLister(idx)}
	client := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	serving := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	nodeOrg := []string{NodesGroup}
	bootstrapper := []string{BootstrappersGroup, "system:authenticated"}
	for name, tc := range map[string]struct {
		csr       *certificatesv1.CertificateSigningRequest
		req       *x509.CertificateRequest
		ok, retry bool
	}{
		"client by bootstrapper":      {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", bootstrapper, client...), request(t, "system:node:n1", nodeOrg, nil), true, false},
		"client renewal by same node": {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "system:node:n1", nodeOrg, client...), request(t, "system:node:n1", nodeOrg, nil), true, false},
		"client for another node":     {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "system:node:n2", nodeOrg, client...), request(t, "system:node:n1", nodeOrg, nil), false, false},
		"client by ordinary user":     {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "alice", nil, client...), request(t, "system:node:n1", nodeOrg, nil), false, false},
		"client asking for masters":   {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", bootstrapper, client...), request(t, "system:node:n1", []string{"system:masters"}, nil), false, false},
		"client with server usage":    {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", bootstrapper, append(client, certificatesv1.UsageServerAuth)...), request(t, "system:node:n1", nodeOrg, nil), false, false},
		"client with SANs":            {csrOf(certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", bootstrapper, client...), request(t, "system:node:n1", nodeOrg, []string{"x"}), false, false},
		"serving own addresses":       {csrOf(certificatesv1.KubeletServingSignerName, "system:node:n1", nodeOrg, serving...), request(t, "system:node:n1", nodeOrg, []string{"n1"}, "10.0.0.1"), true, false},
		"serving by bootstrapper":     {csrOf(certificatesv1.KubeletServingSignerName, "system:bootstrap:abcdef", bootstrapper, serving...), request(t, "system:node:n1", nodeOrg, []string{"n1"}, "10.0.0.1"), false, false},
		"serving foreign IP":          {csrOf(certificatesv1.KubeletServingSignerName, "system:node:n1", nodeOrg, serving...), request(t, "system:node:n1", nodeOrg, nil, "10.0.0.9"), false, true},
		"serving unregistered node":   {csrOf(certificatesv1.KubeletServingSignerName, "system:node:n3", nodeOrg, serving...), request(t, "system:node:n3", nodeOrg, nil, "10.0.0.1"), false, true},
		"other signer":                {csrOf("example.com/x", "system:node:n1", nodeOrg, client...), request(t, "system:node:n1", nodeOrg, nil), false, false},
	} {
		t.Run(name, func(t *testing.T) {
			ok, retry := c.approvable(tc.csr, tc.req)
			if ok != tc.ok || retry != tc.retry {
				t.Fatalf("approvable = %v, retry %v; want %v, %v", ok, retry, tc.ok, tc.retry)
			}
		})
	}
}
