package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"petset/internal/controller/nodelifecycle"
	"petset/internal/controlplane"
	"petset/internal/etcd"
	"petset/internal/logging"
	"petset/internal/pki"
	"petset/internal/profiling"
	"petset/internal/registry"
)

// sharedDirUsage begins the help of --shared-volume-dir (server, up, agent).
const sharedDirUsage = "absolute path of a directory every node reaches at that same path (one machine's filesystem, or an NFS or other shared mount): volumes of the \"shared\" StorageClass live there and follow their pods from node to node (see docs/storage.md)"

// controlPlaneFlags are the flags up and server share.
type controlPlaneFlags struct {
	dataDir       string
	listen        string
	etcdEndpoints []string
	etcdCAFile    string
	etcdCertFile  string
	etcdKeyFile   string
	serviceCIDR   string
	tlsSANs       []string
	verbosity     int
	watchCache    bool
	tokenAuthFile string
	advertise     string
	advertisePort int
	nodeGrace     time.Duration
	nodeMonitor   time.Duration
	// notReadySecs and unreachableSecs are the default tolerations'
	// seconds (kube-apiserver's flags).
	notReadySecs    int64
	unreachableSecs int64
	sharedDir       string
	autoFailover    bool
	// profiling is the loopback host:port of the pprof listener; "" is off.
	profiling string
}

func (f *controlPlaneFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory for etcd data, credentials, volumes and the kubeconfig")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:6443", "address:port the API server listens on")
	fs.StringSliceVar(&f.etcdEndpoints, "etcd-endpoints", nil, "client URLs of an external etcd cluster (default: embedded etcd in the data dir)")
	fs.StringVar(&f.etcdCAFile, "etcd-cafile", "", "CA file that verifies the external etcd's serving certificate (only with --etcd-endpoints)")
	fs.StringVar(&f.etcdCertFile, "etcd-certfile", "", "client certificate file for the external etcd (only with --etcd-endpoints)")
	fs.StringVar(&f.etcdKeyFile, "etcd-keyfile", "", "client key file for the external etcd (only with --etcd-endpoints)")
	fs.StringVar(&f.serviceCIDR, "service-cidr", "10.96.0.0/12", "range of Service cluster IPs")
	fs.StringSliceVar(&f.tlsSANs, "tls-san", nil, "extra IPs or DNS names for the API server's serving certificate (for a petset agent on another machine: the gateway address of its --pod-cidr, where its pods reach the API server)")
	fs.StringVar(&f.tokenAuthFile, "token-auth-file", "", "CSV file of static bearer tokens (token,user,uid,\"group1,group2\"), as kube-apiserver's --token-auth-file; what the users may do is up to RBAC")
	fs.StringVar(&f.advertise, "advertise-address", "", "IPv4 address where pods and nodes reach this API server, published as the kubernetes Service's endpoint (default: the --listen address, the host's first address for 0.0.0.0, none for loopback)")
	fs.DurationVar(&f.nodeGrace, "node-monitor-grace-period", nodelifecycle.DefaultGracePeriod, "how long a node may go without renewing its lease or posting status before it is marked NotReady (Ready=Unknown), as kube-controller-manager's flag")
	fs.DurationVar(&f.nodeMonitor, "node-monitor-period", nodelifecycle.DefaultMonitorPeriod, "how often node health is checked, as kube-controller-manager's flag")
	fs.Int64Var(&f.notReadySecs, "default-not-ready-toleration-seconds", registry.DefaultTolerationSeconds, "tolerationSeconds of the node.kubernetes.io/not-ready:NoExecute toleration added to every pod that has none, as kube-apiserver's flag: how long a pod stays bound to a not-ready node before it is evicted")
	fs.Int64Var(&f.unreachableSecs, "default-unreachable-toleration-seconds", registry.DefaultTolerationSeconds, "tolerationSeconds of the node.kubernetes.io/unreachable:NoExecute toleration added to every pod that has none, as kube-apiserver's flag: how long a pod stays bound to an unreachable node before it is evicted")
	fs.StringVar(&f.sharedDir, "shared-volume-dir", "", sharedDirUsage+"; the server provisions the \"shared\" StorageClass's volumes there and deletes their data, so it must reach the same files")
	fs.BoolVar(&f.autoFailover, "auto-failover", false, "opt the pods of every StatefulSet into automatic failover, as the petset.io/failover=auto annotation does for one set: once a node whose agent runs a fence (petset agent --fence-timeout) is lost, its pods are deleted after the fence has expired, so their sets replace them elsewhere (docs/fencing.md)")
	fs.StringVar(&f.profiling, "profiling-address", "", "loopback host:port where Go's runtime profiles are served under /debug/pprof/ (as kube components' --profiling; off when empty, refused for a non-loopback address)")
	fs.BoolVar(&f.watchCache, "watch-cache", true, "serve lists and watches from an in-memory cache of etcd")
	fs.IntVarP(&f.verbosity, "v", "v", 0, "log verbosity (0: petset's own info, warnings and errors; 1+: also the libraries')")
}

// serveProfiles starts the pprof listener of --profiling-address, if any,
// for as long as ctx lasts.
func (f *controlPlaneFlags) serveProfiles(ctx context.Context) error {
	if f.profiling == "" {
		return nil
	}
	_, err := profiling.Serve(ctx, f.profiling)
	return err
}

func (f *controlPlaneFlags) controlPlane(cmd *cobra.Command) (*controlplane.ControlPlane, error) {
	log := logging.Setup(cmd.ErrOrStderr(), f.verbosity)
	cmd.SetContext(logging.IntoContext(cmd.Context(), log))
	return controlplane.New(f.config(log))
}

// config is the control plane's configuration from the flags.
func (f *controlPlaneFlags) config(log *slog.Logger) controlplane.Config {
	return controlplane.Config{
		DataDir: f.dataDir, Listen: f.listen, EtcdEndpoints: f.etcdEndpoints,
		EtcdTLS:     etcd.TLS{CAFile: f.etcdCAFile, CertFile: f.etcdCertFile, KeyFile: f.etcdKeyFile},
		ServiceCIDR: f.serviceCIDR, DisableWatchCache: !f.watchCache, ExtraSANs: f.tlsSANs, Logger: log,
		TokenAuthFile: f.tokenAuthFile, AdvertiseAddress: f.advertise, AdvertisePort: f.advertisePort,
		NodeLifecycle:   nodelifecycle.Config{GracePeriod: f.nodeGrace, MonitorPeriod: f.nodeMonitor},
		Tolerations:     registry.Tolerations{NotReadySeconds: &f.notReadySecs, UnreachableSeconds: &f.unreachableSecs},
		AutoFailover:    f.autoFailover,
		SharedVolumeDir: f.sharedDir,
	}
}

func newServerCommand() *cobra.Command {
	var f controlPlaneFlags
	var cf clusterFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: etcd, API server, controllers and DNS",
		Long: `Run the control plane: etcd, the API server, the controllers and DNS.

Several servers make one control plane that survives the loss of one of them
(docs/ha.md): the first starts with --cluster-init, each other one with
--server https://<a server>:<port> --token-file <copy of that server's
pki/server.token> --ca-file <copy of its pki/ca.crt>. Each runs an embedded etcd
member of one etcd cluster (--etcd-client-address, --etcd-peer-address).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := logging.Setup(cmd.ErrOrStderr(), f.verbosity)
			cmd.SetContext(logging.IntoContext(cmd.Context(), log))
			cfg := f.config(log)
			if err := cf.apply(&cfg); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := f.serveProfiles(ctx); err != nil {
				return err
			}
			if err := controlplane.JoinCluster(ctx, cfg); err != nil {
				return err
			}
			cp, err := controlplane.New(cfg)
			if err != nil {
				return err
			}
			return runUntilDone(ctx, cmd, cp.Run, cp.Ready(), cp.KubeconfigPath)
		},
	}
	f.register(cmd)
	cf.register(cmd)
	cmd.AddCommand(newMemberCommand())
	return cmd
}

// clusterFlags make a server one of several sharing one embedded etcd
// cluster.
type clusterFlags struct {
	clusterInit               bool
	server, tokenFile, caFile string
	etcdClient, etcdPeer      string
}

func (cf *clusterFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&cf.clusterInit, "cluster-init", false, "start a new cluster of servers that other servers join with --server (the embedded etcd becomes its first member)")
	fs.StringVar(&cf.server, "server", "", "join the cluster of the server at this URL (https://host:port) as a new etcd member; needs --token-file and --ca-file")
	fs.StringVar(&cf.tokenFile, "token-file", "", "with --server: file holding the cluster's server token (a copy of <first server's data dir>/pki/server.token; not the agents' join token)")
	fs.StringVar(&cf.caFile, "ca-file", "", "with --server: the cluster's CA certificate (<first server's data dir>/pki/ca.crt), which verifies the server joined")
	fs.StringVar(&cf.etcdClient, "etcd-client-address", "", "with --cluster-init or --server: ip:port where this server's etcd member serves clients (default "+controlplane.DefaultEtcdClientAddress+")")
	fs.StringVar(&cf.etcdPeer, "etcd-peer-address", "", "with --cluster-init or --server: ip:port where this server's etcd member serves the other members, who dial it there (default "+controlplane.DefaultEtcdPeerAddress+")")
}

// apply puts the cluster flags into cfg.
func (cf *clusterFlags) apply(cfg *controlplane.Config) error {
	cfg.ClusterInit = cf.clusterInit
	cfg.EtcdClientAddress, cfg.EtcdPeerAddress = cf.etcdClient, cf.etcdPeer
	if cf.server == "" {
		if cf.tokenFile != "" || cf.caFile != "" {
			return fmt.Errorf("--token-file and --ca-file are only valid with --server")
		}
		return nil
	}
	j := &controlplane.Join{Server: cf.server, CAFile: cf.caFile}
	if cf.tokenFile != "" {
		t, err := pki.ReadToken(cf.tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		j.Token = t
	}
	cfg.Join = j
	return nil
}

// runUntilDone runs run, prints the kubeconfig line once ready, and waits.
func runUntilDone(ctx context.Context, cmd *cobra.Command, run func(context.Context) error, ready <-chan struct{}, kubeconfig func() string) error {
	errc := make(chan error, 1)
	go func() { errc <- run(ctx) }()
	select {
	case <-ready:
		fmt.Fprintf(cmd.OutOrStdout(), "petset is ready; kubeconfig: %s\n", kubeconfig())
	case err := <-errc:
		return err
	}
	return <-errc
}
