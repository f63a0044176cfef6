package harness

// Several petset nodes on one machine, as real hosts: `petset server` on a
// host bridge's address and one `petset agent` per network namespace, each
// namespace with a veth whose inner end is its eth0, so taking that link
// down is a machine's `ifconfig eth0 down`.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"petset/internal/apiclient"
	"petset/internal/pki"
	"petset/internal/testenv"
)

// The default resources of a multi-node cluster: unique on this machine, so
// only one cluster with them runs at a time. Another MultiNodeConfig (its
// own prefix, subnets and port) runs beside it.
const (
	MultiNodeBridge      = "psmn0"
	MultiNodeBridgeIP    = "10.231.0.1"
	MultiNodeServiceCIDR = "10.233.0.0/16"
	multiNodeAPIPort     = 16643
	multiNodeMax         = 3
)

// MultiNodeConfig names the machine-wide resources of a multi-node cluster.
// The zero value of a field takes the default.
type MultiNodeConfig struct {
	// Prefix names the bridge (<prefix>0), the namespaces and nodes
	// (<prefix>-a, -b, -c), their host veth ends and pod bridges: "psmn".
	Prefix string
	// Subnet is the bridge's /24 given as its first three octets: the
	// server listens on .1, the nodes are .11-.13: "10.231.0".
	Subnet string
	// PodCIDRBase is the first two octets of the nodes' pod networks,
	// <base>.1.0/24, <base>.2.0/24, …: "10.232".
	PodCIDRBase string
	// ServiceCIDR is the server's --service-cidr: "10.233.0.0/16".
	ServiceCIDR string
	// Port is the API server's port on the bridge address: 16643.
	Port int
	// ServerArgs are appended to `petset server`'s arguments (timings).
	ServerArgs []string
	// AgentArgs are appended to each `petset agent`'s arguments.
	AgentArgs []string
	// Servers is how many `petset server` processes form the control
	// plane: 1 (the default) or 3. Server i listens on <subnet>.<1+i> at
	// Port: the first on the host bridge, the others each in a network
	// namespace of its own (<prefix>-s1, -s2) with eth0 on the bridge,
	// so that each dials the others from its own address, as on a
	// machine of its own (etcd checks a peer's certificate against the
	// address it connects from). With 3, the first starts a cluster
	// (--cluster-init) and the others join it (docs/ha.md), each with an
	// etcd member on its address: clients at EtcdPort+2i, peers at
	// EtcdPort+2i+1.
	Servers int
	// EtcdPort is the first of the etcd members' ports (with Servers 3).
	EtcdPort int
}

func (c MultiNodeConfig) withDefaults() MultiNodeConfig {
	if c.Prefix == "" {
		c.Prefix = "psmn"
	}
	if c.Subnet == "" {
		c.Subnet = "10.231.0"
	}
	if c.PodCIDRBase == "" {
		c.PodCIDRBase = "10.232"
	}
	if c.ServiceCIDR == "" {
		c.ServiceCIDR = MultiNodeServiceCIDR
	}
	if c.Port == 0 {
		c.Port = multiNodeAPIPort
	}
	if c.Servers == 0 {
		c.Servers = 1
	}
	return c
}

// ServerHost is one `petset server` of the control plane, on an address of
// the host bridge.
type ServerHost struct {
	Name    string // server-0, server-1, …
	IP      string // its address on the bridge
	URL     string // https://IP:port
	DataDir string
	NetNS   string // its network namespace; "" for the first (the host's)
	Process *Process
	hostEnd string   // the veth's end on the host bridge
	args    []string // the arguments of each of its starts
}

// NodeHost is one agent host: a network namespace with eth0 on the shared
// bridge and a `petset agent` running inside it.
type NodeHost struct {
	Name    string // node name, also the namespace's: psmn-a, psmn-b, …
	NetNS   string
	IP      string // eth0's address, the node's InternalIP
	PodCIDR string
	Gateway string // the pod bridge's address: cluster DNS for this node's pods
	Bridge  string // the pod bridge's name (inside the namespace)
	DataDir string
	Agent   *Process
	hostEnd string   // the veth's end on the host bridge
	args    []string // nsenter's arguments that start the agent
}

// MultiNode is a running control plane and its agent hosts. The embedded
// Cluster is the first server's (its Process, Server URL); with several
// servers its Kubeconfig lists them all and RESTConfig fails over among
// them.
type MultiNode struct {
	*Cluster
	Servers  []*ServerHost
	Nodes    []*NodeHost
	Config   MultiNodeConfig // with its defaults filled in
	Bridge   string          // the host bridge
	BridgeIP string          // the first server's address on it
}

// StartMultiNode starts `petset server` on MultiNodeBridgeIP:16643 and n
// (1..3) real agents with the default resources (MultiNodeConfig{}); see
// StartMultiNodeConfig.
func StartMultiNode(t testing.TB, n int) *MultiNode {
	t.Helper()
	return StartMultiNodeConfig(t, n, MultiNodeConfig{})
}

// StartMultiNodeConfig starts `petset server` on the config's bridge
// address and port and n (1..3) real agents, each in a network namespace of its own, and returns
// once every agent printed its ready line. Processes are stopped by PID and
// the namespaces, veths and bridge removed when the test ends, whatever its
// outcome. Needs root (skips without it, fails in CI).
func StartMultiNodeConfig(t testing.TB, n int, cfg MultiNodeConfig) *MultiNode {
	t.Helper()
	testenv.RequireRoot(t, "network namespaces and isolated pods")
	LookTool(t, "ip")
	if n < 1 || n > multiNodeMax {
		t.Fatalf("StartMultiNode: %d nodes, want 1..%d", n, multiNodeMax)
	}
	cfg = cfg.withDefaults()
	if cfg.Servers != 1 && cfg.Servers != 3 {
		t.Fatalf("StartMultiNode: %d servers, want 1 or 3", cfg.Servers)
	}
	if cfg.Servers > 1 && cfg.EtcdPort == 0 {
		t.Fatalf("StartMultiNode: %d servers need an EtcdPort", cfg.Servers)
	}
	m := &MultiNode{Config: cfg, Bridge: cfg.Prefix + "0", BridgeIP: cfg.Subnet + ".1"}
	for i := 0; i < cfg.Servers; i++ {
		s := &ServerHost{Name: fmt.Sprintf("server-%d", i), IP: fmt.Sprintf("%s.%d", cfg.Subnet, 1+i)}
		s.URL = fmt.Sprintf("https://%s:%d", s.IP, cfg.Port)
		if i > 0 {
			s.NetNS = fmt.Sprintf("%s-s%d", cfg.Prefix, i)
			s.hostEnd = s.NetNS + "-h"
		}
		m.Servers = append(m.Servers, s)
	}
	for i := 0; i < n; i++ {
		letter := string(rune('a' + i))
		m.Nodes = append(m.Nodes, &NodeHost{
			Name:    cfg.Prefix + "-" + letter,
			NetNS:   cfg.Prefix + "-" + letter,
			IP:      fmt.Sprintf("%s.%d", cfg.Subnet, 11+i),
			PodCIDR: fmt.Sprintf("%s.%d.0/24", cfg.PodCIDRBase, 1+i),
			Gateway: fmt.Sprintf("%s.%d.1", cfg.PodCIDRBase, 1+i),
			Bridge:  cfg.Prefix + "pod" + letter,
			hostEnd: cfg.Prefix + "-" + letter + "-h",
		})
	}
	// Leftovers of a run that was killed before its cleanup.
	m.removeNetwork(t, true)
	t.Cleanup(func() { m.cleanup(t) })
	m.setupNetwork(t)
	m.startServers(t)
	m.startAgents(t)
	return m
}

// ip runs `ip args…` and fails the test on error.
func ip(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// addHost makes a network namespace a host on the bridge: eth0 (a veth
// whose other end, hostEnd, is on the bridge) with addr, its default
// route through the host (which routes the pod networks).
func (m *MultiNode) addHost(t testing.TB, netns, hostEnd, addr string) {
	t.Helper()
	ip(t, "netns", "add", netns)
	ip(t, "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", netns)
	ip(t, "link", "set", hostEnd, "master", m.Bridge, "up")
	ip(t, "-n", netns, "link", "set", "lo", "up")
	ip(t, "-n", netns, "addr", "add", addr+"/24", "dev", "eth0")
	ip(t, "-n", netns, "link", "set", "eth0", "up")
	ip(t, "-n", netns, "route", "add", "default", "via", m.BridgeIP)
}

func (m *MultiNode) setupNetwork(t testing.TB) {
	t.Helper()
	ip(t, "link", "add", m.Bridge, "type", "bridge")
	ip(t, "addr", "add", m.BridgeIP+"/24", "dev", m.Bridge)
	ip(t, "link", "set", m.Bridge, "up")
	for _, s := range m.Servers {
		if s.NetNS != "" {
			m.addHost(t, s.NetNS, s.hostEnd, s.IP)
		}
	}
	for _, h := range m.Nodes {
		m.addHost(t, h.NetNS, h.hostEnd, h.IP)
		// The node forwards between eth0 and its pod bridge.
		if out, err := exec.Command("ip", "netns", "exec", h.NetNS, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
			t.Fatalf("ip_forward in %s: %v: %s", h.NetNS, err, out)
		}
	}
	// Every node's pod network through that node's eth0: from the host
	// and from each other node.
	for _, dst := range m.Nodes {
		ip(t, "route", "add", dst.PodCIDR, "via", dst.IP, "dev", m.Bridge)
		for _, src := range m.Nodes {
			if src != dst {
				ip(t, "-n", src.NetNS, "route", "add", dst.PodCIDR, "via", dst.IP, "dev", "eth0")
			}
		}
	}
}

// startServers starts the servers one after the other (etcd admits one
// new member at a time) and, with several, writes a kubeconfig that lists
// them all.
func (m *MultiNode) startServers(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	first := m.Servers[0]
	for i, s := range m.Servers {
		s.DataDir = filepath.Join(dir, "data")
		if len(m.Servers) > 1 {
			s.DataDir = filepath.Join(dir, s.Name)
		}
		args := []string{"server", "--data-dir", s.DataDir,
			"--listen", fmt.Sprintf("%s:%d", s.IP, m.Config.Port),
			"--service-cidr", m.Config.ServiceCIDR}
		for _, h := range m.Nodes {
			// Pods reach the API server through their node's gateway.
			args = append(args, "--tls-san", h.Gateway)
		}
		if len(m.Servers) > 1 {
			args = append(args,
				"--etcd-client-address", fmt.Sprintf("%s:%d", s.IP, m.Config.EtcdPort+2*i),
				"--etcd-peer-address", fmt.Sprintf("%s:%d", s.IP, m.Config.EtcdPort+2*i+1))
			if i == 0 {
				args = append(args, "--cluster-init")
			} else {
				files := pki.Files{Dir: filepath.Join(first.DataDir, "pki")}
				args = append(args, "--server", first.URL,
					"--token-file", filepath.Join(first.DataDir, "pki", "server.token"), "--ca-file", files.CACert())
			}
		}
		s.args = append(args, m.Config.ServerArgs...)
		kubeconfig := m.startServer(t, s, "")
		if i == 0 {
			m.Cluster = &Cluster{Dir: dir, Kubeconfig: kubeconfig, Process: s.Process}
			m.readKubeconfig(t)
		}
	}
	if len(m.Servers) > 1 {
		m.Kubeconfig = m.serversKubeconfig(t)
	}
}

// startServer starts s and waits for its ready line; again names the
// start in a failure ("" for the first).
func (m *MultiNode) startServer(t testing.TB, s *ServerHost, again string) (kubeconfig string) {
	t.Helper()
	if s.NetNS == "" {
		s.Process = StartProcess(t, nil, Bin(), s.args...)
	} else {
		// Only the network namespace, as for an agent.
		s.Process = StartProcess(t, nil, "nsenter", append([]string{"--net=/run/netns/" + s.NetNS, "--", Bin()}, s.args...)...)
	}
	if len(m.Servers) > 1 {
		// Before StartProcess's own cleanup (a graceful stop, which
		// would wait on an etcd without quorum were the others gone).
		t.Cleanup(func() { m.stopProcesses(t) })
	}
	kubeconfig, _, err := s.Process.WaitReady(startBound)
	if err != nil {
		t.Fatalf("petset %s did not become ready%s: %v", s.Name, again, err)
	}
	return kubeconfig
}

// serversKubeconfig copies the last server's kubeconfig, once it lists
// every server (the cluster extension petset kubectl fails over with),
// into the test's dir: a file no restart rewrites.
func (m *MultiNode) serversKubeconfig(t testing.TB) string {
	t.Helper()
	src := filepath.Join(m.Servers[len(m.Servers)-1].DataDir, "kubeconfig")
	var data []byte
	if err := WaitFor(time.Minute, func() (bool, error) {
		var err error
		if data, err = os.ReadFile(src); err != nil {
			return false, nil
		}
		for _, s := range m.Servers {
			if !strings.Contains(string(data), s.URL) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("%s does not list every server: %v\n%s", src, err, data)
	}
	dst := filepath.Join(m.Dir, "kubeconfig")
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// ServerURLs are the servers' API URLs.
func (m *MultiNode) ServerURLs() []string {
	var urls []string
	for _, s := range m.Servers {
		urls = append(urls, s.URL)
	}
	return urls
}

// RESTConfig is a client-go config for the control plane; with several
// servers its clients fail over among them (apiclient.Failover), as the
// agents and petset kubectl do.
func (m *MultiNode) RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg := RESTConfig(t, m.Kubeconfig)
	if len(m.Servers) == 1 {
		return cfg
	}
	if err := apiclient.Failover(context.Background(), cfg, m.ServerURLs()); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// RestartServer starts the first server again; see RestartServerHost.
func (m *MultiNode) RestartServer(t testing.TB) {
	t.Helper()
	m.RestartServerHost(t, m.Servers[0])
}

// RestartServerHost starts s again with the arguments and data dir of its
// first start, after the running one was stopped or killed (Process.Kill:
// a kill -9), and returns once it printed its ready line. s.Process (and
// for the first server m.Process) is the new process; its URL is the same.
func (m *MultiNode) RestartServerHost(t testing.TB, s *ServerHost) {
	t.Helper()
	if !s.Process.Exited() {
		t.Fatalf("RestartServerHost: petset %s (pid %d) still runs", s.Name, s.Process.Pid())
	}
	kubeconfig := m.startServer(t, s, " again")
	if s == m.Servers[0] {
		m.Process = s.Process
		if len(m.Servers) == 1 {
			m.Kubeconfig = kubeconfig
			m.readKubeconfig(t)
		}
	}
}

// RestartAgent starts the node's agent again with the arguments and data
// dir of its first start, after the running one was stopped or killed
// (h.Agent.Kill: a kill -9), and returns once it printed its ready line.
// h.Agent is the new process.
func (m *MultiNode) RestartAgent(t testing.TB, h *NodeHost) {
	t.Helper()
	if !h.Agent.Exited() {
		t.Fatalf("RestartAgent: the agent of %s (pid %d) still runs", h.Name, h.Agent.Pid())
	}
	h.Agent = StartProcess(t, nil, "nsenter", h.args...)
	m.waitAgentReady(t, h)
}

// waitAgentReady waits for the ready line of the node's agent.
func (m *MultiNode) waitAgentReady(t testing.TB, h *NodeHost) {
	t.Helper()
	if err := WaitFor(startBound, func() (bool, error) {
		if h.Agent.Exited() {
			return false, errors.New("agent exited")
		}
		return strings.Contains(h.Agent.Stdout(), "petset agent is ready"), nil
	}); err != nil {
		t.Fatalf("agent %s: %v\nstderr (tail):\n%s", h.Name, err, Tail(h.Agent.Stderr(), 3000))
	}
}

func (m *MultiNode) startAgents(t testing.TB) {
	t.Helper()
	files := pki.Files{Dir: filepath.Join(m.Servers[0].DataDir, "pki")}
	token, err := pki.ReadToken(files.JoinToken())
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(m.Dir, "join.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, h := range m.Nodes {
		h.DataDir = filepath.Join(m.Dir, "agent-"+h.Name)
		// nsenter switches only the network namespace: the agent keeps the
		// host's mounts (its cgroup hierarchy, the data dir), as an agent
		// on a machine of its own has them. `ip netns exec` would mount a
		// fresh /sys and hide /sys/fs/cgroup.
		args := []string{"--net=/run/netns/" + h.NetNS, "--",
			Bin(), "agent", "--server", strings.Join(m.ServerURLs(), ","), "--token-file", tokenFile, "--ca-file", files.CACert(),
			"--data-dir", h.DataDir, "--node-name", h.Name, "--node-ip", h.IP,
			"--pod-cidr", h.PodCIDR, "--bridge", h.Bridge,
			// Never the host's resolvers: nothing leaves the machine.
			"--dns-forward", "none"}
		h.args = append(args, m.Config.AgentArgs...)
		h.Agent = StartProcess(t, nil, "nsenter", h.args...)
	}
	for _, h := range m.Nodes {
		m.waitAgentReady(t, h)
	}
}

// Node is the agent host named name.
func (m *MultiNode) Node(t testing.TB, name string) *NodeHost {
	t.Helper()
	for _, h := range m.Nodes {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no node host %s", name)
	return nil
}

// LinkDown takes the node's eth0 down: its `ifconfig eth0 down`.
func (h *NodeHost) LinkDown(t testing.TB) {
	t.Helper()
	ip(t, "-n", h.NetNS, "link", "set", "eth0", "down")
}

// LinkUp brings the node's eth0 back, with its default route and the
// routes to the other nodes' pod networks, which the kernel dropped with
// the link.
func (m *MultiNode) LinkUp(t testing.TB, h *NodeHost) {
	t.Helper()
	ip(t, "-n", h.NetNS, "link", "set", "eth0", "up")
	ip(t, "-n", h.NetNS, "route", "replace", "default", "via", m.BridgeIP)
	for _, dst := range m.Nodes {
		if dst != h {
			ip(t, "-n", h.NetNS, "route", "replace", dst.PodCIDR, "via", dst.IP, "dev", "eth0")
		}
	}
}

// Exec runs a command inside the node's network namespace (dig against its
// cluster DNS, curl to a pod) and returns its combined output.
func (h *NodeHost) Exec(name string, args ...string) (string, error) {
	full := append([]string{"--net=/run/netns/" + h.NetNS, "--", name}, args...)
	out, err := exec.Command("nsenter", full...).CombinedOutput()
	return string(out), err
}

// PodPIDs lists the processes of the node's pods: those whose mount table
// holds a path under its data dir, not the agent itself.
func (h *NodeHost) PodPIDs() []int {
	self := -1
	if h.Agent != nil && !h.Agent.Exited() {
		self = h.Agent.Pid()
	}
	return pidsMounting(h.DataDir, self)
}

// PIDsMounting lists the processes, other than this test, whose mount
// table holds a path under dir (a node's DataDir: its pods' processes and,
// when it runs, its agent). Unlike PodPIDs it does not read h.Agent, so a
// sampler may call it while another goroutine restarts the agent.
func PIDsMounting(dir string) []int { return pidsMounting(dir, -1) }

// pidsMounting lists the processes, other than self and this test, whose
// mount table holds a path under dir.
func pidsMounting(dir string, self int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	needle := " " + dir + "/"
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == self || pid == os.Getpid() {
			continue
		}
		mi, err := os.ReadFile(filepath.Join("/proc", e.Name(), "mountinfo"))
		if err == nil && strings.Contains(string(mi), needle) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cleanup stops the agents and the servers (stopProcesses), kills what
// is left of the agents' pods (an agent leaves its pods running when it
// stops, as kubelet does) and removes the network.
func (m *MultiNode) cleanup(t testing.TB) {
	m.stopProcesses(t)
	for _, h := range m.Nodes {
		if h.DataDir == "" {
			continue
		}
		for _, pid := range h.PodPIDs() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		var left []int
		if err := WaitFor(30*time.Second, func() (bool, error) {
			left = h.PodPIDs()
			return len(left) == 0, nil
		}); err != nil {
			t.Errorf("pod processes of %s survived SIGKILL: %v", h.Name, left)
		}
	}
	m.removeNetwork(t, false)
}

// stopProcesses stops the agents and then the servers, by PID. Several
// servers are killed (SIGKILL): stopped one by one, the last two would
// wait on an etcd without quorum. It may run more than once.
func (m *MultiNode) stopProcesses(t testing.TB) {
	for _, h := range m.Nodes {
		if h.Agent != nil {
			h.Agent.Stop(t)
		}
	}
	for _, s := range m.Servers {
		switch {
		case s.Process == nil:
		case len(m.Servers) > 1:
			s.Process.Kill(t)
		default:
			s.Process.Stop(t)
		}
	}
}

// removeNetwork deletes the veths, the namespaces (and with them each pod
// bridge), the bridge and with it the host's routes. quiet:
// only what exists, no complaint (before a start).
func (m *MultiNode) removeNetwork(t testing.TB, quiet bool) {
	del := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil && !quiet {
			t.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	hosts := map[string]string{} // namespace → its veth's host end
	for _, h := range m.Nodes {
		hosts[h.NetNS] = h.hostEnd
	}
	for _, s := range m.Servers {
		if s.NetNS != "" {
			hosts[s.NetNS] = s.hostEnd
		}
	}
	for ns, hostEnd := range hosts {
		// The veth first: deleting one end deletes both, at once, whereas
		// a deleted namespace takes its interfaces with it only
		// asynchronously.
		if _, err := net.InterfaceByName(hostEnd); err == nil {
			del("link", "del", hostEnd)
		}
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			del("netns", "del", ns)
		}
	}
	if _, err := net.InterfaceByName(m.Bridge); err == nil {
		// Its routes go with it.
		del("link", "del", m.Bridge)
	}
}

// InPodCIDR reports whether ip is in the node's pod network.
func (h *NodeHost) InPodCIDR(ip string) bool {
	_, n, err := net.ParseCIDR(h.PodCIDR)
	return err == nil && n.Contains(net.ParseIP(ip))
}

// PodUIDPIDs lists the processes of the node's pod with that UID: those
// whose mount table holds a path under the node's data dir that names the
// UID (its per-pod directory, volumes and sandbox files).
func (h *NodeHost) PodUIDPIDs(uid string) []int {
	var pids []int
	needle := "/" + uid + "/"
	for _, pid := range h.PodPIDs() {
		mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
		if err == nil && strings.Contains(string(mi), needle) {
			pids = append(pids, pid)
		}
	}
	return pids
}
