package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"petset/internal/etcd"
	"petset/internal/logging"
	"petset/internal/pki"
)

// A cluster of servers: every server runs an embedded etcd member of one
// etcd cluster and serves the API from it. The first server starts the
// cluster (ClusterInit); each other one joins it through a server already
// in it (Join): it presents the server token over TLS it verifies with the
// cluster CA, and receives the credentials the servers share (pki's
// sharedFiles) and its place in etcd's membership (added as a learner). It
// then makes its own certificates from the shared CAs, starts its member
// with the initial cluster it was told, and asks the other members to
// promote it to a voting member before its API server starts.

// JoinPath is where a server in a cluster answers joining servers.
const JoinPath = "/petset/v1/cluster/join"

// joinStateFile, in the data dir, records what a joining server was told
// until its etcd member has started once (it starts from its data after).
const joinStateFile = "etcd-join.json"

// Default member addresses in a cluster (etcd's ports, loopback).
const (
	DefaultEtcdClientAddress = "127.0.0.1:2379"
	DefaultEtcdPeerAddress   = "127.0.0.1:2380"
)

// Join says how a server joins a cluster.
type Join struct {
	// Server is the URL of a server of the cluster (https://host:port).
	Server string
	// Token is the cluster's server token (<its data dir>/pki/server.token).
	Token string
	// CAFile is the cluster CA (<its data dir>/pki/ca.crt), which verifies Server.
	CAFile string
}

type joinRequest struct {
	Name    string `json:"name"`
	PeerURL string `json:"peerURL"`
}

type joinResponse struct {
	// Files are the shared credentials by path relative to the PKI dir.
	Files          map[string][]byte `json:"files"`
	MemberID       uint64            `json:"memberID"`
	InitialCluster string            `json:"initialCluster"`
}

// joinState is what a joining server keeps until its member first starts.
type joinState struct {
	MemberID       uint64 `json:"memberID"`
	InitialCluster string `json:"initialCluster"`
}

// clustered reports whether the embedded etcd is one member of a cluster
// of servers.
func (c Config) clustered() bool { return c.ClusterInit || c.Join != nil }

func (c Config) etcdURLs() (client, peer string) {
	client, peer = c.EtcdClientAddress, c.EtcdPeerAddress
	if client == "" {
		client = DefaultEtcdClientAddress
	}
	if peer == "" {
		peer = DefaultEtcdPeerAddress
	}
	return "https://" + client, "https://" + peer
}

// etcdHosts are the hosts of the member's addresses, which its
// certificates must name.
func (c Config) etcdHosts() []string {
	var hosts []string
	for _, a := range []string{c.EtcdClientAddress, c.EtcdPeerAddress} {
		if h, _, err := net.SplitHostPort(a); err == nil {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func (c Config) validateCluster() error {
	if c.ClusterInit && c.Join != nil {
		return errors.New("--cluster-init starts a new cluster, --server joins one: give one of them")
	}
	if !c.clustered() {
		if c.EtcdClientAddress != "" || c.EtcdPeerAddress != "" {
			return errors.New("--etcd-client-address and --etcd-peer-address are only valid with --cluster-init or --server")
		}
		return nil
	}
	if len(c.EtcdEndpoints) > 0 {
		return errors.New("--cluster-init and --server make the embedded etcd a member of a cluster; an external etcd (--etcd-endpoints) is a cluster already")
	}
	for flag, a := range map[string]string{"--etcd-client-address": c.EtcdClientAddress, "--etcd-peer-address": c.EtcdPeerAddress} {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("%s %q: %w", flag, a, err)
		}
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			return fmt.Errorf("%s %q: host must be an IP address other than 0.0.0.0 (it is what the other members dial)", flag, a)
		}
	}
	if j := c.Join; j != nil {
		if u, err := url.Parse(j.Server); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("--server %q: want https://host:port", j.Server)
		}
		if j.Token == "" {
			return errors.New("--server needs --token-file: the cluster's server token (<first server's data dir>/pki/server.token)")
		}
		if j.CAFile == "" {
			return errors.New("--server needs --ca-file: the cluster's CA certificate (<first server's data dir>/pki/ca.crt)")
		}
	}
	return nil
}

// memberName is this server's name in etcd's membership and in the
// controller election: stable per host and data directory.
func memberName(dataDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(dataDir))
	return host + "_" + hex.EncodeToString(sum[:4])
}

func memberStarted(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "etcd", "member"))
	return err == nil
}

// JoinCluster makes the data dir of cfg ready to start as a member of the
// cluster cfg.Join names: it asks the server there to add this server as an
// etcd member and writes the credentials it sends. A data dir whose member
// has started before, or that holds the answer of an earlier call already,
// needs nothing: it returns at once. Call it before New.
func JoinCluster(ctx context.Context, cfg Config) error {
	if cfg.Join == nil || memberStarted(cfg.DataDir) {
		return nil
	}
	if err := cfg.validateCluster(); err != nil {
		return err
	}
	statePath := filepath.Join(cfg.DataDir, joinStateFile)
	if _, err := os.Stat(statePath); err == nil {
		return nil
	}
	files := pki.Files{Dir: filepath.Join(cfg.DataDir, "pki")}
	if _, err := os.Stat(files.CACert()); err == nil {
		return fmt.Errorf("%s already holds a CA: this data dir belongs to a cluster of its own; join with a fresh --data-dir", files.Dir)
	}
	ca, err := os.ReadFile(cfg.Join.CAFile)
	if err != nil {
		return fmt.Errorf("--ca-file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return fmt.Errorf("--ca-file %s: no certificate", cfg.Join.CAFile)
	}
	_, peerURL := cfg.etcdURLs()
	body, err := json.Marshal(joinRequest{Name: memberName(cfg.DataDir), PeerURL: peerURL})
	if err != nil {
		return fmt.Errorf("join request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(cfg.Join.Server, "/")+JoinPath, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("join %s: %w", cfg.Join.Server, err)
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Join.Token)
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("join %s: %w", cfg.Join.Server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("join %s: %w", cfg.Join.Server, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("join %s: %s: %s", cfg.Join.Server, resp.Status, strings.TrimSpace(string(data)))
	}
	var jr joinResponse
	if err := json.Unmarshal(data, &jr); err != nil {
		return fmt.Errorf("join %s: answer: %w", cfg.Join.Server, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := files.WriteShared(jr.Files); err != nil {
		return err
	}
	state, err := json.Marshal(joinState{MemberID: jr.MemberID, InitialCluster: jr.InitialCluster})
	if err != nil {
		return fmt.Errorf("join state: %w", err)
	}
	if err := os.WriteFile(statePath, state, 0o600); err != nil {
		return fmt.Errorf("join state: %w", err)
	}
	logging.FromContext(ctx).Info("joined the cluster: starting as a new etcd member", "server", cfg.Join.Server,
		"member", memberName(cfg.DataDir), "peerURL", peerURL)
	return nil
}

// readJoinState is what JoinCluster recorded, nil when this member has
// started before or did not join.
func readJoinState(dataDir string) (*joinState, error) {
	if memberStarted(dataDir) {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dataDir, joinStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("join state: %w", err)
	}
	var s joinState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("join state %s: %w", filepath.Join(dataDir, joinStateFile), err)
	}
	return &s, nil
}

// settleMembership runs after this server's member has started: a learner
// (a joined member) is promoted to a voting member by the others, and the
// first member of a cluster made from a data dir of a member alone gets
// the peer URL it now listens on recorded.
func (c *ControlPlane) settleMembership(ctx context.Context, e *etcd.Server) error {
	self := e.Self()
	_, peerURL := c.cfg.etcdURLs()
	switch {
	case self.Learner:
		peers := e.PeerClientURLs()
		if len(peers) == 0 {
			return errors.New("this etcd member is a learner and knows no voting member to promote it")
		}
		return c.withEtcd(ctx, peers, func(cl *clientv3.Client) error {
			c.log.Info("etcd learner: asking the other members to promote it once it has caught up", "member", fmt.Sprintf("%x", self.ID))
			return etcd.Promote(ctx, cl, self.ID)
		})
	case len(self.PeerURLs) != 1 || self.PeerURLs[0] != peerURL:
		return c.withEtcd(ctx, []string{e.ClientURL()}, func(cl *clientv3.Client) error {
			return etcd.UpdatePeerURL(ctx, cl, self.ID, peerURL)
		})
	}
	return nil
}

// withEtcd runs f with a client of the etcd members at endpoints.
func (c *ControlPlane) withEtcd(ctx context.Context, endpoints []string, f func(*clientv3.Client) error) error {
	cfg, err := etcd.ClientConfig(ctx, endpoints, c.etcdTLS)
	if err != nil {
		return err
	}
	cl, err := clientv3.New(cfg)
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cl.Close()
	return f(cl)
}

// joinHandler answers servers joining the cluster (JoinPath): a POST with
// the server token as its bearer token and the joining member's name and
// peer URL. It adds the member to etcd as a learner and answers the shared
// credentials and the initial cluster. Anything else gets 401, 405 or 400
// and no credential.
func (c *ControlPlane) joinHandler(etcdClient *clientv3.Client, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		token, err := pki.ReadToken(c.files.ServerToken())
		if err != nil {
			log.Error("join: no server token", logging.ErrKey, err)
			http.Error(w, "this server cannot admit servers", http.StatusInternalServerError)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			log.Warn("join refused: no valid server token", "remote", r.RemoteAddr)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		var req joinRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			http.Error(w, "bad join request: "+err.Error(), http.StatusBadRequest)
			return
		}
		u, err := url.Parse(req.PeerURL)
		if req.Name == "" || err != nil || u.Scheme != "https" || u.Port() == "" {
			http.Error(w, "bad join request: want a name and an https peer URL", http.StatusBadRequest)
			return
		}
		shared, err := c.files.ReadShared()
		if err != nil {
			log.Error("join: read shared credentials", logging.ErrKey, err)
			http.Error(w, "cannot read the shared credentials", http.StatusInternalServerError)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		id, initial, err := etcd.AddLearner(ctx, etcdClient, req.Name, req.PeerURL)
		if err != nil {
			log.Warn("join refused", "member", req.Name, "peerURL", req.PeerURL, logging.ErrKey, err)
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		log.Info("server joining: added as an etcd learner", "member", req.Name, "peerURL", req.PeerURL, "id", fmt.Sprintf("%x", id))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(joinResponse{Files: shared, MemberID: id, InitialCluster: initial})
	})
}

// serversPrefix holds each server's API URL under its member name, for
// the kubeconfig's list of servers (pki.ServersExtension).
const serversPrefix = "/petset/apiservers/"

// registerServer records this server's API URL and returns the other
// servers' URLs, sorted, with the etcd revision they were read at.
func (c *ControlPlane) registerServer(ctx context.Context, cl *clientv3.Client, serverURL string) ([]string, int64, error) {
	if _, err := cl.Put(ctx, serversPrefix+memberName(c.cfg.DataDir), serverURL); err != nil {
		return nil, 0, fmt.Errorf("record this API server: %w", err)
	}
	return c.otherServers(ctx, cl, serverURL)
}

func (c *ControlPlane) otherServers(ctx context.Context, cl *clientv3.Client, serverURL string) ([]string, int64, error) {
	resp, err := cl.Get(ctx, serversPrefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, fmt.Errorf("list API servers: %w", err)
	}
	var others []string
	for _, kv := range resp.Kvs {
		if u := string(kv.Value); u != serverURL && !slices.Contains(others, u) {
			others = append(others, u)
		}
	}
	return others, resp.Header.Revision, nil
}

// keepKubeconfig rewrites the kubeconfig whenever a server joins (or its
// URL changes), so it lists every server, until ctx ends. A server that
// left stays listed: clients skip a server that does not answer.
func (c *ControlPlane) keepKubeconfig(ctx context.Context, cl *clientv3.Client, serverURL string, rev int64) {
	log := logging.FromContext(ctx)
	for ctx.Err() == nil {
		for resp := range cl.Watch(clientv3.WithRequireLeader(ctx), serversPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
			if err := resp.Err(); err != nil {
				log.Warn("watching the API servers' list", logging.ErrKey, err)
				break
			}
			rev = resp.Header.Revision
			others, _, err := c.otherServers(ctx, cl, serverURL)
			if err == nil {
				err = c.files.WriteKubeconfig(c.KubeconfigPath(), serverURL, c.adminToken, others...)
			}
			if err != nil && ctx.Err() == nil {
				log.Warn("kubeconfig: list of API servers not updated", logging.ErrKey, err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
