package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	restclient "k8s.io/client-go/rest"

	"petset/internal/agent/runtime/linux"
	"petset/internal/logging"
	"petset/internal/node"
	"petset/internal/pki"
)

// nodeFlags configure the node(s) a command runs.
type nodeFlags struct {
	// otherServers are the API servers after the first (petset agent
	// --server with several), for the node's relay.
	otherServers []string
	name         string
	isolation    string
	podCIDR      string
	bridge       string
	nodeIP       string
	streamAddr   string
	imageCatalog string
	simulate     int
	simulateOne  bool
	// stopPodsOnExit: petset up stops its pods when it stops.
	stopPodsOnExit bool
	// inProcess is the API server's handler when the nodes run in its
	// process (petset up): their clients reach it without TLS.
	inProcess http.Handler
	// ca, when set, issues the nodes' certificates directly (petset up);
	// otherwise each node requests its own with the bootstrap token.
	ca         *pki.CA
	simStart   time.Duration
	simReady   time.Duration
	simStop    time.Duration
	simInit    time.Duration
	simCap     map[string]string
	dnsForward []string
	// sharedDir is --shared-volume-dir (petset agent's own flag; petset
	// up copies the control plane's).
	sharedDir string
	// fenceTimeout and leaseDuration: petset agent only (see its flags).
	fenceTimeout  time.Duration
	leaseDuration time.Duration
}

func (f *nodeFlags) register(cmd *cobra.Command, simulateFlag string) {
	fs := cmd.Flags()
	host, _ := os.Hostname()
	fs.StringVar(&f.name, "node-name", host, "name of this node")
	fs.StringVar(&f.isolation, "isolation", linux.IsolationNamespaces, "pod isolation: namespaces (needs root) or none (plain host processes; see docs/isolation.md)")
	fs.StringVar(&f.podCIDR, "pod-cidr", "10.88.0.0/24", "this node's pod network; the bridge holds its first address, which also serves cluster DNS to pods")
	fs.StringVar(&f.bridge, "bridge", "petset0", "name of the pod bridge")
	fs.StringVar(&f.nodeIP, "node-ip", "127.0.0.1", "the node's InternalIP, where the API server reaches its streaming server")
	fs.StringVar(&f.streamAddr, "stream-listen", "", "address:port of the node's logs/exec/attach server (default <node-ip>:0)")
	fs.StringVar(&f.imageCatalog, "image-catalog", "", "extra image catalog file (see docs/images.md)")
	fs.StringSliceVar(&f.dnsForward, "dns-forward", nil, "upstream DNS servers for names outside cluster.local (default: the nameservers of the node's /etc/resolv.conf, as CoreDNS' forward . /etc/resolv.conf; \"none\": answer REFUSED and offer no recursion)")
	if simulateFlag == "simulate-nodes" {
		fs.IntVar(&f.simulate, "simulate-nodes", 0, "run N simulated nodes instead of a real local node (pods run nothing)")
	} else {
		fs.BoolVar(&f.simulateOne, "simulate", false, "simulate this node: pods become Ready without running anything")
	}
	fs.DurationVar(&f.simStart, "simulate-start-delay", 200*time.Millisecond, "simulated nodes: time from container start to Running")
	fs.DurationVar(&f.simReady, "simulate-ready-delay", 300*time.Millisecond, "simulated nodes: time from Running to Ready")
	fs.DurationVar(&f.simStop, "simulate-stop-delay", 100*time.Millisecond, "simulated nodes: time a container takes to stop")
	fs.DurationVar(&f.simInit, "simulate-init-duration", 500*time.Millisecond, "simulated nodes: time an init container runs (from Running) before it completes with exit code 0")
	fs.StringToStringVar(&f.simCap, "simulate-node-capacity", nil, "simulated nodes: each node's capacity and allocatable, e.g. cpu=8,memory=16Gi,ephemeral-storage=100Gi; resources not given keep the defaults cpu=32, memory=256Gi, pods=110 (kwok's) and ephemeral-storage=100Gi")
}

// nodes builds the node(s): one real node, or n simulated ones.
func (f *nodeFlags) nodes(client *restclient.Config, dataDir, token string, cmd *cobra.Command) ([]*node.Node, error) {
	log := logging.FromContext(cmd.Context())
	simCap, err := f.simCapacity()
	if err != nil {
		return nil, err
	}
	if f.simulateOne {
		n, err := node.New(node.Config{
			Name: f.name, Client: client, DataDir: filepath.Join(dataDir, "node"),
			NodeIP: f.nodeIP, PodCIDR: f.podCIDR, Simulate: true, StreamAddr: f.streamAddr,
			SimStartDelay: f.simStart, SimReadyDelay: f.simReady, SimStopDelay: f.simStop, SimInitDuration: f.simInit,
			SimCapacity: simCap, SharedVolumeDir: f.sharedDir,
			BootstrapToken: token, CA: f.ca, InProcess: f.inProcess, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		return []*node.Node{n}, nil
	}
	if f.simulate == 0 {
		n, err := node.New(node.Config{
			Name: f.name, Client: client, DataDir: filepath.Join(dataDir, "node"),
			NodeIP: f.nodeIP, PodCIDR: f.podCIDR, Bridge: f.bridge, Isolation: f.isolation,
			StreamAddr: f.streamAddr, BootstrapToken: token, CA: f.ca, InProcess: f.inProcess, ImageCatalog: f.imageCatalog, OtherServers: f.otherServers,
			DNSForward: f.dnsForward, StopPodsOnExit: f.stopPodsOnExit, SharedVolumeDir: f.sharedDir, Logger: log,
			FenceTimeout: f.fenceTimeout, LeaseDuration: f.leaseDuration,
		})
		if err != nil {
			return nil, err
		}
		return []*node.Node{n}, nil
	}
	if f.simulate < 0 || f.simulate > 250 {
		return nil, fmt.Errorf("--simulate-nodes must be between 1 and 250")
	}
	// Each simulated node has an identity (system:node:sim-<i>) and
	// credentials of its own.
	var out []*node.Node
	for i := 0; i < f.simulate; i++ {
		n, err := node.New(node.Config{
			Name: fmt.Sprintf("sim-%d", i), Client: client, DataDir: filepath.Join(dataDir, "sim", fmt.Sprint(i)),
			NodeIP: f.nodeIP, PodCIDR: fmt.Sprintf("10.89.%d.0/24", i), Simulate: true,
			SimStartDelay: f.simStart, SimReadyDelay: f.simReady, SimStopDelay: f.simStop, SimInitDuration: f.simInit,
			SimCapacity: simCap, SharedVolumeDir: f.sharedDir,
			BootstrapToken: token, CA: f.ca, InProcess: f.inProcess, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// runNodes runs every node until ctx ends; ready is closed when all are.
func (f *nodeFlags) runNodes(ctx context.Context, nodes []*node.Node, ready chan<- struct{}) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(nodes))
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- err
			}
		}()
	}
	go func() {
		for _, n := range nodes {
			select {
			case <-n.Ready():
			case <-ctx.Done():
				return
			}
		}
		close(ready)
	}()
	wg.Wait()
	close(errc)
	return errors.Join(collect(errc)...)
}

func collect(errc <-chan error) []error {
	var out []error
	for err := range errc {
		out = append(out, err)
	}
	return out
}

// simCapacity checks and returns --simulate-node-capacity; commands call it
// first, before starting anything.
func (f *nodeFlags) simCapacity() (corev1.ResourceList, error) {
	c, err := parseCapacity(f.simCap)
	if err != nil {
		return nil, err
	}
	if len(c) > 0 && !f.simulateOne && f.simulate == 0 {
		return nil, errors.New("--simulate-node-capacity applies to simulated nodes only (--simulate-nodes N, agent --simulate)")
	}
	return c, nil
}

// parseCapacity reads --simulate-node-capacity: resource name to quantity.
func parseCapacity(m map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for name, v := range m {
		if errs := validation.IsQualifiedName(name); len(errs) > 0 {
			return nil, fmt.Errorf("--simulate-node-capacity: resource name %q: %s", name, strings.Join(errs, "; "))
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("--simulate-node-capacity: %s=%s: %w", name, v, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("--simulate-node-capacity: %s=%s: must not be negative", name, v)
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}
