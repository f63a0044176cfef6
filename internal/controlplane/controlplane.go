package controlplane

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	authzunion "k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"petset/internal/allocator"
	"petset/internal/apiserver"
	"petset/internal/clusterservice"
	"petset/internal/controller/nodelifecycle"
	"petset/internal/controller/podgc"
	"petset/internal/etcd"
	"petset/internal/inproc"
	"petset/internal/logging"
	"petset/internal/nodeauth"
	"petset/internal/pki"
	"petset/internal/registry"
	"petset/internal/serviceaccount"
	"petset/internal/sharedvolume"
)

// Config configures a control plane.
type Config struct {
	// DataDir holds etcd's data (when embedded), credentials and the kubeconfig.
	DataDir string
	// Listen is host:port for the API (default 127.0.0.1:6443; port 0 picks one).
	Listen string
	// EtcdEndpoints selects an external etcd cluster instead of the embedded one.
	EtcdEndpoints []string
	// EtcdTLS are the CA, client certificate and key for an external etcd
	// (valid only with EtcdEndpoints). The embedded etcd always uses the
	// credentials in <DataDir>/pki.
	EtcdTLS etcd.TLS
	// ServiceCIDR is the range of Service cluster IPs (default 10.96.0.0/12).
	ServiceCIDR string
	// NodePortRange is the range of node ports (default 30000-32767).
	NodePortMin, NodePortMax int
	// DisableWatchCache serves every read from etcd.
	DisableWatchCache bool
	// PodGC tunes the pod garbage collector (zero: kube's defaults; tests
	// shorten the quarantine of pods whose node is gone).
	PodGC podgc.Config
	// NodeLifecycle tunes node health monitoring (zero durations: kube's
	// defaults; `petset server --node-monitor-grace-period` and
	// --node-monitor-period). Eviction is always on.
	NodeLifecycle nodelifecycle.Config
	// Tolerations are the seconds of the default not-ready and unreachable
	// tolerations the API server adds to pods (nil: kube's 300 s; `petset
	// server --default-not-ready-toleration-seconds` and
	// --default-unreachable-toleration-seconds).
	Tolerations registry.Tolerations
	// AutoFailover opts the pods of every StatefulSet into automatic
	// failover (`petset server --auto-failover`; docs/fencing.md), as the
	// petset.io/failover=auto annotation does for one set.
	AutoFailover bool
	// SharedVolumeDir is the directory the nodes share (`--shared-volume-dir`;
	// "" for none): the server installs the "shared" StorageClass for it,
	// provisions that class's volumes there and deletes their data.
	SharedVolumeDir string
	// ExtraSANs are additional names or IPs for the serving certificate.
	ExtraSANs []string
	// TokenAuthFile is a static token CSV (kube-apiserver's --token-auth-file).
	TokenAuthFile string
	// AdvertiseAddress is the IPv4 address where pods and nodes reach this
	// API server: the endpoint it publishes for the kubernetes Service
	// (kube-apiserver's --advertise-address). Empty: the listen address,
	// or for 0.0.0.0 the first non-loopback address of the host; a
	// loopback listen address publishes none. AdvertisePort is the port
	// there (0: the API server's port); petset up advertises its node's
	// relay, the bridge gateway's port 443.
	AdvertiseAddress string
	AdvertisePort    int
	// ClusterInit makes the embedded etcd the first member of a cluster of
	// servers that others join (petset server --cluster-init); Join makes
	// it a new member of such a cluster (--server, after JoinCluster).
	ClusterInit bool
	Join        *Join
	// EtcdClientAddress and EtcdPeerAddress are ip:port where a member of a
	// cluster serves clients and peers (DefaultEtcdClientAddress and
	// DefaultEtcdPeerAddress when empty); only with ClusterInit or Join.
	EtcdClientAddress, EtcdPeerAddress string
	Logger                             *slog.Logger
}

// ControlPlane is a configured, not yet running, control plane.
type ControlPlane struct {
	cfg   Config
	files pki.Files
	host  string
	port  int
	log   *slog.Logger

	ready      chan struct{}
	mu         sync.Mutex
	adminToken string
	joinToken  string
	saKey      crypto.Signer
	loopback   *restclient.Config
	handler    http.Handler
	server     string
	etcdURLs   []string
	etcdTLS    etcd.TLS
	// sharedID is the ID of cfg.SharedVolumeDir ("" without one).
	sharedID string
}

// New checks the configuration and prepares the data directory and
// credentials (created at first start).
func New(cfg Config) (*ControlPlane, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:6443"
	}
	if cfg.ServiceCIDR == "" {
		cfg.ServiceCIDR = "10.96.0.0/12"
	}
	if cfg.NodePortMin == 0 {
		cfg.NodePortMin, cfg.NodePortMax = 30000, 32767
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.EtcdTLS.Validate(); err != nil {
		return nil, fmt.Errorf("--etcd-cafile/--etcd-certfile/--etcd-keyfile: %w", err)
	}
	if !cfg.EtcdTLS.Empty() && len(cfg.EtcdEndpoints) == 0 {
		return nil, errors.New("--etcd-cafile/--etcd-certfile/--etcd-keyfile are only valid with --etcd-endpoints")
	}
	if err := cfg.validateCluster(); err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: bad port", cfg.Listen)
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("--listen %q: host must be an IP address", cfg.Listen)
	}
	if cfg.AdvertiseAddress != "" {
		if ip := net.ParseIP(cfg.AdvertiseAddress); ip == nil || ip.To4() == nil || ip.IsLoopback() || ip.IsUnspecified() {
			return nil, fmt.Errorf("--advertise-address %q: must be an IPv4 address other than loopback and 0.0.0.0", cfg.AdvertiseAddress)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	files := pki.Files{Dir: filepath.Join(cfg.DataDir, "pki")}
	ipRange, err := allocator.NewIPRange(cfg.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("--service-cidr: %w", err)
	}
	// As kube-apiserver: the kubernetes Service's ClusterIP and names.
	sans := append([]string{"127.0.0.1", "localhost", host, ipRange.Value(0), "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, cfg.ExtraSANs...)
	if hn, err := os.Hostname(); err == nil {
		sans = append(sans, hn)
	}
	if host == "0.0.0.0" {
		sans = append(sans, localIPs()...)
	}
	if err := files.Ensure(sans); err != nil {
		return nil, err
	}
	etcdTLS := cfg.EtcdTLS
	if len(cfg.EtcdEndpoints) == 0 {
		if err := files.EnsureEtcd(cfg.etcdHosts()...); err != nil {
			return nil, err
		}
		etcdTLS = etcd.TLS{CAFile: files.EtcdCACert(), CertFile: files.EtcdClientCert(), KeyFile: files.EtcdClientKey()}
	}
	if cfg.clustered() {
		if err := files.EnsureServerToken(); err != nil {
			return nil, err
		}
	}
	admin, err := pki.ReadToken(files.AdminToken())
	if err != nil {
		return nil, err
	}
	join, err := pki.ReadToken(files.JoinToken())
	if err != nil {
		return nil, err
	}
	saKey, err := serviceaccount.EnsureKeys(ServiceAccountKeyPath(cfg.DataDir), filepath.Join(files.Dir, "sa.pub"))
	if err != nil {
		return nil, err
	}
	var sharedID string
	if cfg.SharedVolumeDir != "" {
		if sharedID, err = sharedvolume.Ensure(cfg.SharedVolumeDir); err != nil {
			return nil, fmt.Errorf("--shared-volume-dir: %w", err)
		}
	}
	return &ControlPlane{
		cfg: cfg, files: files, host: host, port: port, log: cfg.Logger,
		ready: make(chan struct{}), adminToken: admin, joinToken: join, etcdTLS: etcdTLS, saKey: saKey,
		sharedID: sharedID,
	}, nil
}

// ServiceAccountKeyPath is the service-account signing key of the control
// plane with data directory dataDir (its public key is sa.pub beside it).
func ServiceAccountKeyPath(dataDir string) string { return filepath.Join(dataDir, "pki", "sa.key") }

// KubeconfigPath is where the admin kubeconfig is written.
func (c *ControlPlane) KubeconfigPath() string { return filepath.Join(c.cfg.DataDir, "kubeconfig") }

// Ready is closed when the API serves and bootstrap objects exist.
func (c *ControlPlane) Ready() <-chan struct{} { return c.ready }

// JoinToken is the token node agents authenticate with.
func (c *ControlPlane) JoinToken() string { return c.joinToken }

// CA is the cluster CA with its key, which signs node certificates.
func (c *ControlPlane) CA() (*pki.CA, error) { return c.files.LoadCA() }

// CAFile is the cluster CA certificate.
func (c *ControlPlane) CAFile() string { return c.files.CACert() }

// ServerURL is the API's URL; valid once Ready.
func (c *ControlPlane) ServerURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// EtcdEndpoints are the client URLs of the etcd in use; valid once Ready.
func (c *ControlPlane) EtcdEndpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.etcdURLs...)
}

// EtcdTLS are the client credentials the control plane connects to etcd
// with (empty for an external etcd without TLS).
func (c *ControlPlane) EtcdTLS() etcd.TLS { return c.etcdTLS }

// AdminConfig is a client config with the admin token, as the kubeconfig
// holds it; valid once Ready.
func (c *ControlPlane) AdminConfig() *restclient.Config {
	return &restclient.Config{
		Host:            c.ServerURL(),
		BearerToken:     c.adminToken,
		TLSClientConfig: restclient.TLSClientConfig{CAFile: c.files.CACert()},
	}
}

// LoopbackConfig is a privileged in-process client config whose requests go
// straight to the API server's handler chain (package inproc); valid once
// Ready.
func (c *ControlPlane) LoopbackConfig() *restclient.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return restclient.CopyConfig(c.loopback)
}

// Handler is the API server's full handler chain, for clients in this
// process (package inproc); valid once Ready.
func (c *ControlPlane) Handler() http.Handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handler
}

// etcdClient is the etcd client of the API server (every resource's
// storage), the allocators and the cluster's records. A server alone calls
// its embedded etcd in-process: no TCP, TLS or gRPC between the API server
// and the etcd in the same process. Otherwise it dials endpoints: the
// server's own member in a cluster (which forwards what needs the leader),
// or an external etcd.
func (c *ControlPlane) etcdClient(ctx context.Context, alone *etcd.Server, endpoints []string) (*clientv3.Client, error) {
	if alone != nil {
		return alone.Client(), nil
	}
	cfg, err := etcd.ClientConfig(context.WithoutCancel(ctx), endpoints, c.etcdTLS)
	if err != nil {
		return nil, err
	}
	cl, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return cl, nil
}

// Run starts everything and blocks until ctx is done, then stops in order.
func (c *ControlPlane) Run(ctx context.Context) error {
	// Everything started below logs through the configured logger.
	ctx = logging.IntoContext(ctx, c.log)
	endpoints := c.cfg.EtcdEndpoints
	// alone is the embedded etcd of a server alone (not clustered).
	var alone *etcd.Server
	if len(endpoints) == 0 {
		f := c.files
		ec := etcd.Config{
			Dir:     filepath.Join(c.cfg.DataDir, "etcd"),
			Serving: etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdServerCert(), KeyFile: f.EtcdServerKey()},
			Peer:    etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdPeerCert(), KeyFile: f.EtcdPeerKey()},
		}
		ec.Alone = !c.cfg.clustered()
		if c.cfg.clustered() {
			ec.Name = memberName(c.cfg.DataDir)
			ec.ClientURL, ec.PeerURL = c.cfg.etcdURLs()
			state, err := readJoinState(c.cfg.DataDir)
			if err != nil {
				return err
			}
			if state != nil {
				ec.Join, ec.InitialCluster = true, state.InitialCluster
			}
		}
		e, err := etcd.Start(ctx, ec)
		if err != nil {
			return err
		}
		defer e.Close()
		if c.cfg.clustered() {
			if err := c.settleMembership(ctx, e); err != nil {
				return err
			}
		} else {
			alone = e
		}
		// The API server talks to this server's own member, which
		// forwards what needs the leader.
		endpoints = []string{e.ClientURL()}
		c.log.Info("embedded etcd ready", "url", e.ClientURL(), "member", ec.Name)
	}
	c.mu.Lock()
	c.etcdURLs = endpoints
	c.mu.Unlock()
	// The client outlives ctx: the kubernetes Service's stop still writes
	// through it; the deferred Close ends it, before etcd's.
	etcdClient, err := c.etcdClient(ctx, alone, endpoints)
	if err != nil {
		return err
	}
	defer etcdClient.Close()
	// Alone, every resource's storage shares the in-process client.
	// Clustered servers and an external etcd keep a client per resource
	// (k8s.io/apiserver's): with one shared network client a clustered
	// server (--cluster-init) never became ready (a watch of the API server
	// waited for its watch cache to catch up; TestHAServerKillNine).
	var storageClient *clientv3.Client
	if alone != nil {
		storageClient = etcdClient
	}

	ipRange, err := allocator.NewIPRange(c.cfg.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	agents, err := newAgentTransports(c.files)
	if err != nil {
		return err
	}
	issuer, err := serviceaccount.NewIssuer("", c.saKey)
	if err != nil {
		return err
	}
	nodes := nodeauth.New()
	var unauthenticated map[string]http.Handler
	if c.cfg.clustered() {
		// Joining servers authenticate with the server token, which
		// the join handler checks itself.
		unauthenticated = map[string]http.Handler{JoinPath: c.joinHandler(etcdClient, c.log)}
	}
	srv, err := apiserver.New(ctx, apiserver.Config{
		Authorizers:          []authzunion.NamedAuthorizer{{AuthorizerName: "node", Authorizer: authorizer.AuthorizerFunc(nodes.Authorize)}},
		Admission:            []admission.Interface{nodes.Admission()},
		ServiceAccountIssuer: issuer, ServiceAccountKeys: []crypto.PublicKey{c.saKey.Public()},
		BindAddress: net.ParseIP(c.host), Port: c.port,
		CertFile: c.files.ServingCert(), KeyFile: c.files.ServingKey(),
		AdminToken: c.adminToken, JoinToken: c.joinToken, TokenAuthFile: c.cfg.TokenAuthFile, ClientCAFile: c.files.CACert(),
		Etcd: storageClient, EtcdServers: endpoints, EtcdCAFile: c.etcdTLS.CAFile, EtcdCertFile: c.etcdTLS.CertFile, EtcdKeyFile: c.etcdTLS.KeyFile,
		DisableWatchCache: c.cfg.DisableWatchCache,
		Unauthenticated:   unauthenticated,
		Registry: registry.Deps{
			// Offset 0 (the range's first address) is the kubernetes
			// Service's, as on kube, and offset 9 (the tenth) kube-dns'.
			ServiceIPs:  allocator.New(etcdClient, "/petset/allocations/serviceips/", ipRange, 0, dnsOffset),
			NodePorts:   allocator.New(etcdClient, "/petset/allocations/nodeports/", allocator.PortRange{Min: c.cfg.NodePortMin, Max: c.cfg.NodePortMax}),
			Agents:      registry.AgentAccess{Transport: agents.For},
			Tolerations: c.cfg.Tolerations,
		},
		Logger: c.log,
	})
	if err != nil {
		return err
	}
	serverURL := "https://" + net.JoinHostPort(advertiseHost(c.host), strconv.Itoa(srv.Port()))
	// Stop order: the controllers and leader election end first (ctx), the
	// lease is released and the kubernetes Service's endpoints withdrawn
	// while the API still serves; then the API server and the node
	// authorizer (runCtx, which ctx's end does not cancel), then the etcd
	// client and the embedded etcd (deferred above).
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Run(runCtx); err != nil {
			errc <- fmt.Errorf("API server: %w", err)
		}
	}()

	select {
	case <-srv.Ready():
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
		cancel()
		wg.Wait()
		return nil
	}
	// A server of a cluster of servers lists the others in its kubeconfig.
	var others []string
	var serversRev int64
	if c.cfg.clustered() {
		if others, serversRev, err = c.registerServer(ctx, etcdClient, serverURL); err != nil {
			cancel()
			wg.Wait()
			return err
		}
	}
	if err := c.files.WriteKubeconfig(c.KubeconfigPath(), serverURL, c.adminToken, others...); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	if c.cfg.clustered() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.keepKubeconfig(runCtx, etcdClient, serverURL, serversRev)
		}()
	}
	// In-process clients (controllers, leader election, the scheduler,
	// the bootstrap and the Node authorizer's view) reach the handler
	// chain directly, without TLS, TCP and HTTP/2 (package inproc).
	loopback, err := inproc.Config(srv.LoopbackConfig(), srv.Handler(), c.log)
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("loopback client: %w", err)
	}
	c.mu.Lock()
	c.loopback, c.server, c.handler = loopback, serverURL, srv.Handler()
	c.mu.Unlock()

	client, err := kubernetes.NewForConfig(loopback)
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("loopback client: %w", err)
	}
	// The Node authorizer's view of pods and claims.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := nodes.Run(runCtx, client); err != nil {
			errc <- fmt.Errorf("node authorizer: %w", err)
		}
	}()
	select {
	case <-nodes.Ready():
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
		cancel()
		wg.Wait()
		return nil
	}
	if err := bootstrap(ctx, client); err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := ensureDNSService(ctx, client, ipRange); err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := c.ensureSharedClass(ctx, client); err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("bootstrap: %w", err)
	}
	advertisePort := c.cfg.AdvertisePort
	if advertisePort == 0 {
		advertisePort = srv.Port()
	}
	kubeSvc, err := clusterservice.NewKubernetes(clusterservice.KubernetesConfig{
		Client: client, Etcd: etcdClient, ClusterIP: ipRange.Value(0),
		AdvertiseIP: advertiseIP(c.cfg.AdvertiseAddress, c.host), Port: int32(advertisePort), Logger: c.log,
	})
	if err == nil {
		err = kubeSvc.Ensure(ctx)
	}
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("bootstrap: kubernetes service: %w", err)
	}
	// Controllers stop before the API server, so their last writes (the
	// leader lease's release) still reach it.
	ctrlCtx, stopControllers := context.WithCancel(ctx)
	defer stopControllers()
	var ctrlWG sync.WaitGroup
	// Every API server keeps its lease behind the kubernetes Service's
	// endpoints (withdrawn at stop, while the API still serves).
	ctrlWG.Add(1)
	go func() {
		defer ctrlWG.Done()
		if err := kubeSvc.Run(ctrlCtx); err != nil {
			errc <- fmt.Errorf("kubernetes service: %w", err)
		}
	}()
	ctrlWG.Add(1)
	go func() {
		defer ctrlWG.Done()
		if err := c.runControllers(ctrlCtx, loopback); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("controllers: %w", err)
		}
	}()
	close(c.ready)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stopControllers()
	ctrlWG.Wait()
	cancel()
	wg.Wait()
	return runErr
}

// advertiseIP is the address published for the kubernetes Service:
// the configured one, else the listen host unless it is loopback (none) or
// unspecified (the host's first non-loopback IPv4 address, as
// kube-apiserver picks one).
func advertiseIP(configured, listenHost string) net.IP {
	if configured != "" {
		return net.ParseIP(configured).To4()
	}
	ip := net.ParseIP(listenHost)
	switch {
	case ip == nil || ip.IsLoopback():
		return nil
	case ip.IsUnspecified():
		for _, a := range localIPs() {
			if p := net.ParseIP(a); p != nil && !p.IsLoopback() {
				return p.To4()
			}
		}
		return nil
	}
	return ip.To4()
}

// advertiseHost is the host clients should dial for a listen host.
func advertiseHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

func localIPs() []string {
	var out []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			out = append(out, n.IP.String())
		}
	}
	return out
}
