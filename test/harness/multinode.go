package harness

// Several petset nodes on one machine, as real hosts: `petset server` on a
// host bridge's address and one `petset agent` per network namespace, each
// namespace with a veth whose inner end is its eth0, so taking that link
// down is a machine's `ifconfig eth0 down`.

import (
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
	return c
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

// MultiNode is a running server and its agent hosts.
type MultiNode struct {
	*Cluster
	Nodes    []*NodeHost
	Config   MultiNodeConfig // with its defaults filled in
	Bridge   string          // the host bridge
	BridgeIP string          // the server's address on it
	// serverArgs are the arguments `petset server` was started with
	// (RestartServer starts it again with them, on the same data dir).
	serverArgs []string
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
	m := &MultiNode{Config: cfg, Bridge: cfg.Prefix + "0", BridgeIP: cfg.Subnet + ".1"}
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
	m.startServer(t)
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

func (m *MultiNode) setupNetwork(t testing.TB) {
	t.Helper()
	ip(t, "link", "add", m.Bridge, "type", "bridge")
	ip(t, "addr", "add", m.BridgeIP+"/24", "dev", m.Bridge)
	ip(t, "link", "set", m.Bridge, "up")
	for _, h := range m.Nodes {
		ip(t, "netns", "add", h.NetNS)
		ip(t, "link", "add", h.hostEnd, "type", "veth", "peer", "name", "eth0", "netns", h.NetNS)
		ip(t, "link", "set", h.hostEnd, "master", m.Bridge, "up")
		ip(t, "-n", h.NetNS, "link", "set", "lo", "up")
		ip(t, "-n", h.NetNS, "addr", "add", h.IP+"/24", "dev", "eth0")
		ip(t, "-n", h.NetNS, "link", "set", "eth0", "up")
		ip(t, "-n", h.NetNS, "route", "add", "default", "via", m.BridgeIP)
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

func (m *MultiNode) startServer(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"server", "--data-dir", filepath.Join(dir, "data"),
		"--listen", fmt.Sprintf("%s:%d", m.BridgeIP, m.Config.Port),
		"--service-cidr", m.Config.ServiceCIDR}
	for _, h := range m.Nodes {
		// Pods reach the API server through their node's gateway.
		args = append(args, "--tls-san", h.Gateway)
	}
	args = append(args, m.Config.ServerArgs...)
	m.serverArgs = args
	p := StartProcess(t, nil, Bin(), args...)
	kubeconfig, _, err := p.WaitReady(startBound)
	if err != nil {
		t.Fatalf("petset server did not become ready: %v", err)
	}
	m.Cluster = &Cluster{Dir: dir, Kubeconfig: kubeconfig, Process: p}
	m.readKubeconfig(t)
}

// RestartServer starts `petset server` again with the arguments and data
// dir of its first start, after the running one was stopped or killed
// (Process.Kill: a kill -9), and returns once it printed its ready line.
// m.Process is the new process; the server's URL is the same.
func (m *MultiNode) RestartServer(t testing.TB) {
	t.Helper()
	if !m.Process.Exited() {
		t.Fatalf("RestartServer: petset server (pid %d) still runs", m.Process.Pid())
	}
	p := StartProcess(t, nil, Bin(), m.serverArgs...)
	m.Process = p
	kubeconfig, _, err := p.WaitReady(startBound)
	if err != nil {
		t.Fatalf("petset server did not become ready again: %v", err)
	}
	m.Kubeconfig = kubeconfig
	m.readKubeconfig(t)
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
	files := pki.Files{Dir: filepath.Join(filepath.Dir(m.Kubeconfig), "pki")}
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
			Bin(), "agent", "--server", m.Server, "--token-file", tokenFile, "--ca-file", files.CACert(),
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

// cleanup stops the agents and the server (by PID), kills what is left of
// the agents' pods (an agent leaves its pods running when it stops, as
// kubelet does) and removes the network.
func (m *MultiNode) cleanup(t testing.TB) {
	for _, h := range m.Nodes {
		if h.Agent != nil {
			h.Agent.Stop(t)
		}
	}
	if m.Cluster != nil && m.Process != nil {
		m.Process.Stop(t)
	}
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

// removeNetwork deletes the veths, the namespaces (and with them each pod
// bridge), the bridge and with it the host's routes. quiet:
// only what exists, no complaint (before a start).
func (m *MultiNode) removeNetwork(t testing.TB, quiet bool) {
	del := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil && !quiet {
			t.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, h := range m.Nodes {
		// The veth first: deleting one end deletes both, at once, whereas
		// a deleted namespace takes its interfaces with it only
		// asynchronously.
		if _, err := net.InterfaceByName(h.hostEnd); err == nil {
			del("link", "del", h.hostEnd)
		}
		if _, err := os.Stat("/run/netns/" + h.NetNS); err == nil {
			del("netns", "del", h.NetNS)
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
