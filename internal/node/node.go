package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"

	"petset/internal/agent"
	"petset/internal/agent/fence"
	"petset/internal/agent/image"
	"petset/internal/agent/netpol"
	"petset/internal/agent/probe"
	"petset/internal/agent/runtime"
	"petset/internal/agent/runtime/fake"
	"petset/internal/agent/runtime/linux"
	"petset/internal/agent/runtime/linux/ctrinit"
	"petset/internal/apiclient"
	"petset/internal/clusterservice"
	"petset/internal/dns"
	"petset/internal/inproc"
	"petset/internal/logging"
	"petset/internal/pki"
	"petset/internal/proxy"
	"petset/internal/relay"
	"petset/internal/sharedvolume"
)

// Config describes one node.
type Config struct {
	Name string
	// Client is where the API server is and how to trust it (host and CA);
	// the node authenticates with its own client certificate.
	Client *restclient.Config
	// InProcess, when set, is the API server's handler chain in this
	// process (petset up): the node's API clients hand their requests to
	// it (package inproc) with the node's client certificate, instead of
	// going through TLS.
	InProcess http.Handler
	// OtherServers are the URLs of the cluster's other API servers
	// (petset agent --server with several): the relay its pods reach the API
	// through tries them after Client.Host's.
	OtherServers []string
	// BootstrapToken is the join token the node requests its client
	// certificate with when it has none (petset agent).
	BootstrapToken string
	// CA, when set, issues the node's certificates directly (petset up,
	// which holds the CA key) instead of the bootstrap request.
	CA *pki.CA
	// PKIDir holds the node's certificates (default <DataDir>/pki).
	PKIDir string
	// DataDir holds the node's runtime state, pod directories and volumes.
	DataDir string
	// NodeIP is the node's InternalIP (where the API server reaches its
	// streaming server).
	NodeIP string
	// PodCIDR is the node's pod network.
	PodCIDR string
	// Bridge is the pod bridge's name (real nodes).
	Bridge string
	// Isolation is linux.IsolationNamespaces or linux.IsolationNone.
	Isolation string
	// FenceTimeout, when positive, fences the pods of a real node with a
	// pod network (internal/agent/fence, docs/fencing.md): their traffic
	// passes only while the agent confirms them with the API within it.
	FenceTimeout time.Duration
	// LeaseDuration is the node lease's duration (the agent renews it every
	// quarter of it); zero is kubelet's 40s.
	LeaseDuration time.Duration
	// Simulate runs no processes: pods go Pending → Running → Ready on the
	// timeline below.
	Simulate                     bool
	SimStartDelay, SimReadyDelay time.Duration
	SimStopDelay                 time.Duration
	// SimInitDuration is how long a simulated init container runs before
	// it completes.
	SimInitDuration time.Duration
	// SimCapacity is a simulated node's capacity and allocatable, per
	// resource over DefaultSimCapacity; nothing is detected from the host.
	SimCapacity corev1.ResourceList
	// StreamAddr is where the streaming server listens (host:port).
	StreamAddr string
	// ImageCatalog is an extra image catalog file ("" for the built-ins only).
	ImageCatalog string
	// DNSForward are upstream resolvers for names outside the cluster;
	// empty: the nameservers of the node's /etc/resolv.conf (CoreDNS'
	// default "forward . /etc/resolv.conf"); ["none"]: no forwarding (names
	// outside the cluster are REFUSED, replies carry no RA flag).
	DNSForward []string
	// SharedVolumeDir is a directory this node shares with other nodes
	// (the same files at the same path: the host's filesystem for nodes of
	// one machine, an NFS mount or the like across machines); "" for none.
	// The node is labelled with its ID (internal/sharedvolume), so that
	// volumes of the "shared" class may follow its pods here.
	SharedVolumeDir string
	// StopPodsOnExit stops every pod of the node when Run returns (petset
	// up: the whole cluster stops). Otherwise pods keep running and a
	// restarted node adopts them, as kubelet does.
	StopPodsOnExit bool
	Logger         *slog.Logger
}

// Node is a configured node.
type Node struct {
	cfg   Config
	log   *slog.Logger
	ready chan struct{}
	// agent is set once built; the streaming server reaches it through this.
	agent agentRef
	// serving provides the streaming server's certificate.
	serving certificate.Manager
}

// New checks the configuration.
func New(cfg Config) (*Node, error) {
	if cfg.Name == "" || cfg.Client == nil {
		return nil, errors.New("node: a name and a client config are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StreamAddr == "" {
		cfg.StreamAddr = net.JoinHostPort(cfg.NodeIP, "0")
	}
	if cfg.PKIDir == "" {
		cfg.PKIDir = filepath.Join(cfg.DataDir, "pki")
	}
	return &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.Name), ready: make(chan struct{})}, nil
}

// Ready is closed once the node is registered and serving.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Run runs the node until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	cfg := n.cfg
	creds := credentials{dir: cfg.PKIDir, name: cfg.Name, nodeIP: cfg.NodeIP}
	if cfg.CA != nil {
		if err := creds.issue(cfg.CA); err != nil {
			return fmt.Errorf("node %s: %w", cfg.Name, err)
		}
	} else if err := creds.bootstrap(ctx, cfg.Client, cfg.BootstrapToken, n.log); err != nil {
		return fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	// The node's last writes at a stop (lease, status) finish.
	nodeClient := creds.clientConfig(cfg.Client)
	if cfg.InProcess != nil {
		var err error
		if nodeClient, err = inproc.Config(nodeClient, cfg.InProcess, n.log); err != nil {
			return fmt.Errorf("node %s: %w", cfg.Name, err)
		}
	}
	apiclient.Protobuf(nodeClient)
	apiclient.DrainOnStop(nodeClient)
	client, err := kubernetes.NewForConfig(nodeClient)
	if err != nil {
		return fmt.Errorf("node %s: client: %w", cfg.Name, err)
	}
	heartbeat, err := kubernetes.NewForConfig(heartbeatConfig(nodeClient, cfg.LeaseDuration))
	if err != nil {
		return fmt.Errorf("node %s: heartbeat client: %w", cfg.Name, err)
	}
	managers, serving, err := creds.managers(client)
	if err != nil {
		return fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	for _, m := range managers {
		m.Start()
		defer m.Stop()
	}
	n.serving = serving
	rt, closeRT, isolated, err := n.runtime(ctx)
	if err != nil {
		return err
	}
	defer closeRT()
	if cfg.StopPodsOnExit {
		defer n.stopPods(rt)
	}

	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		wg.Wait()
	}()
	errc := make(chan error, 8)
	goRun := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("node %s: %s: %w", cfg.Name, name, err)
			}
		}()
	}

	apiURL, err := url.Parse(cfg.Client.Host)
	if err != nil || apiURL.Host == "" {
		return fmt.Errorf("node %s: API server URL %q: %v", cfg.Name, cfg.Client.Host, err)
	}
	apiAddr := apiURL.Host
	if apiURL.Port() == "" {
		apiAddr = net.JoinHostPort(apiURL.Hostname(), "443")
	}
	// Pods of a node without its own pod network reach the API server
	// where the node does.
	kubernetesService := apiAddr

	// Cluster DNS on the bridge address, the service proxy, and the relay
	// to the API server, for pods with a network of their own.
	var dnsServers []string
	var annotations map[string]string
	if isolated && !cfg.Simulate {
		gw, err := Gateway(cfg.PodCIDR)
		if err != nil {
			return err
		}
		forward, err := dnsUpstreams(cfg.DNSForward, gw)
		if err != nil {
			return fmt.Errorf("node %s: dns: %w", cfg.Name, err)
		}
		factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(apiclient.DropManagedFields))
		svcInformer, sliceInformer := factory.Core().V1().Services(), factory.Discovery().V1().EndpointSlices()
		srv, err := dns.New(runCtx, dns.Config{Addrs: []string{net.JoinHostPort(gw, "53")}, Forward: forward},
			svcInformer, sliceInformer)
		if err != nil {
			return fmt.Errorf("node %s: dns: %w", cfg.Name, err)
		}
		px, err := proxy.New(proxy.Config{NodeName: cfg.Name, Bridge: cfg.Bridge, Logger: n.log}, svcInformer, sliceInformer)
		if err != nil {
			return fmt.Errorf("node %s: %w", cfg.Name, err)
		}
		// Network policies of this node's pods (docs/networkpolicy.md).
		// Pods that outlive the agent (petset agent) stay isolated meanwhile.
		np, err := netpol.New(netpol.Config{NodeName: cfg.Name, Bridge: cfg.Bridge, DNS: netip.MustParseAddr(gw),
			KeepTable: !cfg.StopPodsOnExit, Logger: n.log},
			factory.Core().V1().Pods(), factory.Core().V1().Namespaces(), factory.Networking().V1().NetworkPolicies())
		if err != nil {
			return fmt.Errorf("node %s: %w", cfg.Name, err)
		}
		factory.Start(runCtx.Done())
		defer factory.Shutdown()
		goRun("dns", srv.Run)
		goRun("service proxy", px.Run)
		goRun("network policy", np.Run)
		for _, ready := range []<-chan struct{}{srv.Ready(), px.Ready(), np.Ready()} {
			select {
			case <-ready:
			case err := <-errc:
				return err
			case <-ctx.Done():
				return nil
			}
		}
		// The node announces its DNS (the kube-dns Service's endpoint on
		// this node); pods name the kube-dns ClusterIP, as kubelet's
		// --cluster-dns, or the bridge address when the control plane has
		// no kube-dns Service.
		annotations = map[string]string{clusterservice.DNSAnnotation: gw}
		dnsServers = []string{gw}
		if ip := clusterIP(svcInformer, clusterservice.DNSNamespace, clusterservice.DNSName); ip != "" {
			dnsServers = []string{ip}
		}

		// The API server at the gateway, port 443, for in-cluster clients.
		targets := []string{apiAddr}
		for _, s := range cfg.OtherServers {
			if u, err := url.Parse(s); err == nil && u.Host != "" {
				addr := u.Host
				if u.Port() == "" {
					addr = net.JoinHostPort(u.Hostname(), "443")
				}
				targets = append(targets, addr)
			}
		}
		rl := relay.New(net.JoinHostPort(gw, "443"), targets, n.log)
		goRun("apiserver relay", rl.Run)
		select {
		case <-rl.Ready():
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
		kubernetesService = net.JoinHostPort(gw, "443")
		// Pods reach the API server at the kubernetes Service's ClusterIP
		// (as kubelet sets KUBERNETES_SERVICE_HOST) when it has endpoints
		// the proxy routes to; else at the relay directly.
		if ip := clusterIP(svcInformer, clusterservice.KubernetesNamespace, clusterservice.KubernetesName); ip != "" &&
			hasEndpoints(sliceInformer, clusterservice.KubernetesNamespace, clusterservice.KubernetesName) {
			kubernetesService = net.JoinHostPort(ip, "443")
		}
	}

	streamPort, err := n.startStreaming(runCtx, rt, goRun)
	if err != nil {
		return err
	}

	var images *image.Catalog
	if !cfg.Simulate {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("node %s: %w", cfg.Name, err)
		}
		if isolated {
			// Containers see only their own root filesystem, where the
			// runtime binds the petset binary read-only.
			exe = ctrinit.PetsetPath
		}
		images = image.Default(exe)
		if cfg.ImageCatalog != "" {
			if err := images.LoadFile(cfg.ImageCatalog); err != nil {
				return fmt.Errorf("node %s: image catalog: %w", cfg.Name, err)
			}
		}
	}
	acfg := agent.Config{
		NodeName: cfg.Name, Client: client, Heartbeat: heartbeat, Runtime: rt,
		NodeIP: cfg.NodeIP, PodCIDR: cfg.PodCIDR,
		VolumeDir:         filepath.Join(cfg.DataDir, "volumes"),
		PodsDir:           filepath.Join(cfg.DataDir, "pods"),
		DNS:               agent.DNS{Servers: dnsServers},
		Annotations:       annotations,
		StreamingPort:     int32(streamPort),
		KubernetesService: kubernetesService,
		LeaseDuration:     cfg.LeaseDuration,
		// The agent names the node in its logger itself (component=agent node=…).
		Logger: cfg.Logger,
	}
	if images != nil {
		acfg.Images = images
	}
	if cfg.SharedVolumeDir != "" {
		id, err := sharedvolume.Ensure(cfg.SharedVolumeDir)
		if err != nil {
			return fmt.Errorf("node %s: --shared-volume-dir: %w", cfg.Name, err)
		}
		acfg.SharedVolumeDir = cfg.SharedVolumeDir
		acfg.Labels = map[string]string{sharedvolume.RootLabel: id}
		if acfg.Annotations == nil {
			acfg.Annotations = map[string]string{}
		}
		acfg.Annotations[sharedvolume.DirAnnotation] = cfg.SharedVolumeDir
	}
	if cfg.FenceTimeout > 0 && isolated && !cfg.Simulate {
		f, err := fence.New(cfg.Bridge, cfg.PodCIDR)
		if err != nil {
			return fmt.Errorf("node %s: %w", cfg.Name, err)
		}
		acfg.Fence, acfg.FenceTimeout = f, cfg.FenceTimeout
	}
	if sim, ok := rt.(*fake.Runtime); ok {
		// Simulated outcomes: probes answered by the runtime, the node's
		// stop-heartbeat annotation (the pod's is read by the runtime).
		acfg.Prober, acfg.CutOff = probe.ByContainer(sim.Probe), fake.CutOff
	}
	if cfg.Simulate {
		acfg.Capacity, acfg.CapacityOnly = SimCapacity(cfg.SimCapacity), true
		acfg.VolumesOffDisk, acfg.WarningEventsOnly = true, true
	}
	a, err := agent.New(acfg)
	if err != nil {
		return err
	}
	n.agent.set(a)
	goRun("agent", a.Run)
	select {
	case <-a.Ready():
		close(n.ready)
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// clusterIP is the IPv4 ClusterIP of Service ns/name in the informer's
// cache, "" when it has none.
func clusterIP(services coreinformers.ServiceInformer, ns, name string) string {
	svc, err := services.Lister().Services(ns).Get(name)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(svc.Spec.ClusterIP); ip != nil && ip.To4() != nil {
		return ip.String()
	}
	return ""
}

// hasEndpoints reports whether Service ns/name has a ready IPv4 endpoint
// in the informer's cache.
func hasEndpoints(slices discoveryinformers.EndpointSliceInformer, ns, name string) bool {
	list, err := slices.Lister().EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return false
	}
	for _, sl := range list {
		for _, e := range sl.Endpoints {
			if sl.AddressType == discoveryv1.AddressTypeIPv4 && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
				return true
			}
		}
	}
	return false
}

// dnsUpstreams resolves the --dns-forward setting: explicit servers,
// "none", or (empty) the node's /etc/resolv.conf without the node's own
// DNS address.
func dnsUpstreams(forward []string, own string) ([]string, error) {
	switch {
	case len(forward) == 1 && forward[0] == "none":
		return nil, nil
	case len(forward) > 0:
		return forward, nil
	}
	return dns.HostResolvers("/etc/resolv.conf", own)
}

// DefaultSimCapacity is a simulated node's capacity unless configured:
// kwok's default node (cpu 32, memory 256Gi, pods 110), so rehearsals size
// as they would on kwok, whatever the host, plus the ephemeral-storage
// every kubelet reports (its root filesystem's size; kwok's node has none).
// Without it no pod that requests ephemeral-storage — every public chart
// with a resources preset does — fits: the scheduler, as kube's, finds an
// unreported resource insufficient.
func DefaultSimCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("256Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

// SimCapacity is DefaultSimCapacity with the given resources set over it.
func SimCapacity(set corev1.ResourceList) corev1.ResourceList {
	c := DefaultSimCapacity()
	for k, v := range set {
		c[k] = v.DeepCopy()
	}
	return c
}

// runtime builds the node's container runtime.
func (n *Node) runtime(ctx context.Context) (rt runtime.Runtime, closeFn func(), isolated bool, err error) {
	cfg := n.cfg
	if cfg.Simulate {
		f, err := fake.New(fake.Config{PodCIDR: cfg.PodCIDR, StartDelay: cfg.SimStartDelay, ReadyDelay: cfg.SimReadyDelay, StopDelay: cfg.SimStopDelay, InitDuration: cfg.SimInitDuration})
		if err != nil {
			return nil, nil, false, err
		}
		return f, func() {}, false, nil
	}
	l, err := linux.New(ctx, linux.Config{
		StateDir: filepath.Join(cfg.DataDir, "rt"), Bridge: cfg.Bridge, PodCIDR: cfg.PodCIDR, Isolation: cfg.Isolation,
	})
	if err != nil {
		return nil, nil, false, err
	}
	return l, func() { _ = l.Close() }, l.Isolated(), nil
}

// Gateway is the first address of a pod CIDR: the bridge's, where the
// node serves cluster DNS and relays to the API server (port 443).
func Gateway(cidr string) (string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	return p.Masked().Addr().Next().String(), nil
}

// stopPods stops every container (with a short grace period) and sandbox
// the runtime runs.
func (n *Node) stopPods(rt runtime.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sandboxes, err := rt.ListSandboxes(ctx)
	if err != nil {
		n.log.Error("listing pods to stop", logging.ErrKey, err)
		return
	}
	var wg sync.WaitGroup
	for _, sb := range sandboxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, _ := rt.ListContainers(ctx, sb.UID)
			for _, c := range cs {
				if c.State == runtime.StateRunning {
					_ = rt.StopContainer(ctx, c.ID, 10*time.Second)
				}
			}
			if err := rt.StopSandbox(ctx, sb.UID); err != nil {
				n.log.Error("stopping pod", "pod", sb.Namespace+"/"+sb.Name, logging.ErrKey, err)
			}
		}()
	}
	wg.Wait()
	n.log.Info("stopped pods", "count", len(sandboxes))
}

// heartbeatConfig is the client config of the node's lease and status:
// the node's, with kubelet's heartbeat timeout (the status update
// frequency, at most the lease duration when one is set). A server that
// stops answering holds a renewal up for that long at most, and with
// several servers the next one goes to another (apiclient.Failover moves
// on from a server at which a deadline passed).
func heartbeatConfig(node *restclient.Config, leaseDuration time.Duration) *restclient.Config {
	hb := restclient.CopyConfig(node)
	hb.Timeout = agent.DefaultStatusUpdateFrequency
	if leaseDuration > 0 && leaseDuration < hb.Timeout {
		hb.Timeout = leaseDuration
	}
	return hb
}
