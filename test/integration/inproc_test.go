package integration

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"petset/internal/inproc"
	"petset/internal/node"
)

// A node in the API server's process (petset up) reaches its handler chain
// without TLS and keeps its identity and its limits: system:node:<name>,
// the Node authorizer's graph.
func TestInProcessNodeKeepsItsIdentity(t *testing.T) {
	c := startCluster(t, "")
	dataDir := t.TempDir()
	startSimulatedNodesWith(t, c, 1, func(_ int, cfg *node.Config) {
		cfg.DataDir, cfg.InProcess = dataDir, c.cp.Handler()
	})
	ctx := context.Background()
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, webSet("web", 2, appsv1.ParallelPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "web", "web-0", "web-1")

	certFile := filepath.Join(dataDir, "pki", "kubelet-client-current.pem")
	cfg, err := inproc.Config(&restclient.Config{
		Host:            c.cp.ServerURL(),
		TLSClientConfig: restclient.TLSClientConfig{CertFile: certFile, KeyFile: certFile, CAFile: c.cp.CAFile()},
	}, c.cp.Handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	nodeClient, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := nodeClient.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo; u.Username != "system:node:sim-0" || !slices.Contains(u.Groups, "system:nodes") {
		t.Errorf("in-process node is %q %v, want system:node:sim-0 in system:nodes", u.Username, u.Groups)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}, StringData: map[string]string{"k": "v"}}
	if _, err := c.client.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodeClient.CoreV1().Secrets("default").Get(ctx, "unrelated", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("node reads a secret no pod of its uses: %v, want Forbidden", err)
	}
	other := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	if _, err := nodeClient.CoreV1().Nodes().Create(ctx, other, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("node creates another node: %v, want Forbidden", err)
	}
}
