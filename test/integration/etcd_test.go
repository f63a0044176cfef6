package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"petset/internal/controlplane"
	"petset/internal/etcd"
	"petset/internal/etcd/etcdtest"
	"petset/internal/pki"
)

// startExternalEtcd runs an etcd with mutual TLS from a CA of its own (in a
// directory of the test), as an operator's external etcd, and returns its
// client URL and the client credentials it accepts.
func startExternalEtcd(t *testing.T) (string, etcd.TLS) {
	t.Helper()
	e, creds := etcdtest.Start(t)
	return e.ClientURL(), creds
}

// etcdClient is a clientv3 client with creds, closed when the test ends.
func etcdClient(t *testing.T, endpoints []string, creds etcd.TLS) *clientv3.Client {
	t.Helper()
	cfg, err := etcd.ClientConfig(context.Background(), endpoints, creds)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// tryEtcdGet reads key (as a prefix) through a client built from cfg and
// returns the error. A refused handshake makes the client retry until its
// bound passes; handshake says why.
func tryEtcdGet(t *testing.T, cfg clientv3.Config, key string) error {
	t.Helper()
	cli, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cli.Get(ctx, key, clientv3.WithPrefix())
	return err
}

// TestEmbeddedEtcdMutualTLS: the embedded etcd serves https only, and only
// to a client with the API server's certificate — not to a client without
// a certificate, not to one with a certificate of another CA (here a
// complete etcd PKI of another data dir, and the cluster CA's own serving
// certificate), not over plain http.
func TestEmbeddedEtcdMutualTLS(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	if _, err := c.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	endpoints := c.cp.EtcdEndpoints()
	u, err := url.Parse(endpoints[0])
	if err != nil || u.Scheme != "https" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("embedded etcd at %v, want https on 127.0.0.1 (%v)", endpoints, err)
	}
	files := pki.Files{Dir: filepath.Join(c.dataDir, "pki")}
	for _, key := range []string{files.EtcdCAKey(), files.EtcdServerKey(), files.EtcdPeerKey(), files.EtcdClientKey()} {
		st, err := os.Stat(key)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", key, st.Mode().Perm())
		}
	}

	// The API server's credentials read the secret.
	good := etcdClient(t, endpoints, c.cp.EtcdTLS())
	resp, err := good.Get(ctx, "/registry/secrets/default/s")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("with the API server's client certificate: %v, %d keys", err, len(resp.Kvs))
	}

	caPool := func(path string) *x509.CertPool {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(b)
		return p
	}
	trust := caPool(files.EtcdCACert())
	other := pki.Files{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := other.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	clusterServing, err := tls.LoadX509KeyPair(files.ServingCert(), files.ServingKey())
	if err != nil {
		t.Fatal(err)
	}
	otherClient, err := tls.LoadX509KeyPair(other.EtcdClientCert(), other.EtcdClientKey())
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]clientv3.Config{
		"no client certificate": {Endpoints: endpoints, TLS: &tls.Config{RootCAs: trust, MinVersion: tls.VersionTLS12}},
		"client certificate of another etcd CA": {Endpoints: endpoints,
			TLS: &tls.Config{RootCAs: trust, GetClientCertificate: always(otherClient), MinVersion: tls.VersionTLS12}},
		"certificate of the cluster CA": {Endpoints: endpoints,
			TLS: &tls.Config{RootCAs: trust, GetClientCertificate: always(clusterServing), MinVersion: tls.VersionTLS12}},
		"plain http": {Endpoints: []string{"http://" + u.Host},
			DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}},
	}
	for name, cfg := range refused {
		t.Run(name, func(t *testing.T) {
			if err := tryEtcdGet(t, cfg, "/registry/secrets/"); err == nil {
				t.Fatalf("etcd served /registry/secrets/ to a client with %s", name)
			}
			err := handshake(u.Host, cfg.TLS)
			if err == nil {
				t.Fatalf("etcd answered GET /version to a client with %s", name)
			}
			t.Logf("refused: %v", err)
		})
	}
	// The probe itself succeeds with the right certificate.
	goodTLS, err := etcd.ClientConfig(ctx, endpoints, c.cp.EtcdTLS())
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(u.Host, goodTLS.TLS); err != nil {
		t.Fatalf("GET /version with the API server's certificate: %v", err)
	}
}

// always presents cert whatever CAs the server asks for (Go would
// otherwise send no certificate the server's CA list does not name).
func always(cert tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
}

// handshake sends GET /version to addr, over TLS with tc (plain HTTP when
// tc is nil), and returns nil only if etcd answered 200.
func handshake(addr string, tc *tls.Config) error {
	scheme := "http"
	tr := &http.Transport{}
	if tc != nil {
		scheme = "https"
		tr.TLSClientConfig = tc
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(scheme + "://" + addr + "/version")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// TestPlainEtcdDataDirGainsTLS: a data dir whose etcd was written by a
// plain-HTTP etcd (petset before etcd had TLS) gains the etcd credentials
// at the next start and keeps its objects.
func TestPlainEtcdDataDirGainsTLS(t *testing.T) {
	dir := t.TempDir()
	plain := startPlainEtcd(t, filepath.Join(dir, "etcd"))
	ctx := context.Background()
	old := startClusterWith(t, controlplane.Config{DataDir: dir, EtcdEndpoints: []string{plain.ClientURL()}})
	if _, err := old.client.CoreV1().ConfigMaps("default").Create(ctx, configMap("kept", "v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	old.stop()
	plain.close()
	files := pki.Files{Dir: filepath.Join(dir, "pki")}
	if _, err := os.Stat(files.EtcdCACert()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the plain etcd's data dir already has %s (%v)", files.EtcdCACert(), err)
	}

	c := startCluster(t, dir)
	for _, p := range []string{files.EtcdCACert(), files.EtcdServerCert(), files.EtcdPeerCert(), files.EtcdClientCert()} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	}
	cm, err := c.client.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v1" {
		t.Fatalf("object of the plain etcd after the restart: %v %v", cm, err)
	}
	if u, _ := url.Parse(c.cp.EtcdEndpoints()[0]); u.Scheme != "https" {
		t.Fatalf("etcd after the restart at %s", c.cp.EtcdEndpoints()[0])
	}
	if err := handshake(hostOf(t, c.cp.EtcdEndpoints()[0]), nil); err == nil {
		t.Fatal("the restarted etcd still serves plain http")
	}
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// plainEtcd is an embedded etcd configured as petset's was before TLS.
type plainEtcd struct {
	e      *embed.Etcd
	closed bool
}

func (p *plainEtcd) ClientURL() string { return "http://" + p.e.Clients[0].Addr().String() }
func (p *plainEtcd) close() {
	if !p.closed {
		p.closed = true
		p.e.Close()
	}
}

func startPlainEtcd(t *testing.T, dir string) *plainEtcd {
	t.Helper()
	ec := embed.NewConfig()
	ec.Name = "petset"
	ec.Dir = dir
	ec.WalDir = filepath.Join(dir, "wal")
	ec.LogLevel = "error"
	loop := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{loop}, []url.URL{loop}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{loop}, []url.URL{loop}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		t.Fatal(err)
	}
	p := &plainEtcd{e: e}
	t.Cleanup(p.close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatal(err)
	}
	return p
}

// TestExternalEtcdTLS: with --etcd-endpoints and the etcd client
// credentials, the control plane stores through an etcd that requires
// them; the credentials without endpoints are refused.
func TestExternalEtcdTLS(t *testing.T) {
	url, creds := startExternalEtcd(t)
	c := startClusterWith(t, controlplane.Config{EtcdEndpoints: []string{url}, EtcdTLS: creds})
	ctx := context.Background()
	if _, err := c.client.CoreV1().ConfigMaps("default").Create(ctx, configMap("ext", "v"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := etcdClient(t, []string{url}, creds).Get(ctx, "/registry/configmaps/default/ext")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("the object in the external etcd: %v, %d keys", err, len(resp.Kvs))
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "pki", "etcd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an external etcd's control plane made an embedded etcd PKI (%v)", err)
	}
	_, err = controlplane.New(controlplane.Config{DataDir: t.TempDir(), EtcdTLS: creds})
	if err == nil {
		t.Fatal("etcd TLS files without --etcd-endpoints were accepted")
	}
	_, err = controlplane.New(controlplane.Config{DataDir: t.TempDir(), EtcdEndpoints: []string{url}, EtcdTLS: etcd.TLS{CAFile: creds.CAFile}})
	if err == nil {
		t.Fatal("an etcd CA file without a client certificate and key was accepted")
	}
}
