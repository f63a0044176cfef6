package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"petset/test/bench/workload"
)

// Loopback ports of the peer (the harness's range is 18740–18799).
const (
	etcdClientPort = 18740
	etcdPeerPort   = 18741
	apiserverPort  = 18742
	kwokPort       = 18743
	petsetPort     = 18760
)

// nodes is how many simulated nodes both systems get for W1–W5 (and W3);
// W6 runs on a cluster of its own with w6Nodes.
const nodes = 10

// w6Nodes is W6's cluster size (issue 12: 50 simulated nodes).
const w6Nodes = 50

// cluster is one running system: its processes (by role) and a client.
type cluster struct {
	system string
	nodes  int // simulated nodes
	procs  []*proc
	cfg    *rest.Config
	cs     kubernetes.Interface
}

func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- { // reverse start order
		c.procs[i].stop()
	}
}

// config is a client config from kubeconfig, with client-go's rate limit
// lifted so that the server is what is measured.
func clientFor(kubeconfig string) (*rest.Config, kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 5000, 10000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	return cfg, cs, nil
}

// prepare checks that ports are free (no other peerbench runs) and empties
// dataDir.
func prepare(dataDir string, ports ...int) error {
	for _, p := range ports {
		if !portFree(p) {
			return fmt.Errorf("port %d is taken (another peerbench running?)", p)
		}
	}
	if err := os.RemoveAll(dataDir); err != nil {
		return fmt.Errorf("clean %s: %w", dataDir, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// readyz reports whether https://listen/readyz answers 200 (any CA: only
// the status matters here).
func readyz(listen string) bool {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + listen + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
}

// peerConfig is the peer's controller-manager and scheduler client settings
// (/work/shared/bench/peer.md's configurations).
type peerConfig struct {
	name                   string
	kcmQPS, kcmBurst       int
	schedQPS, schedBurst   int
	statefulSetConcurrency int
}

var (
	peerDefault = peerConfig{name: "peer-default", kcmQPS: 20, kcmBurst: 30, schedQPS: 50, schedBurst: 100, statefulSetConcurrency: 5}
	peerTuned   = peerConfig{name: "peer-tuned", kcmQPS: 1000, kcmBurst: 2000, schedQPS: 1000, schedBurst: 2000, statefulSetConcurrency: 20}
)

// kwokStages are the simulated pods' lifecycle: Ready 50–80 ms after kwok
// sees the pod bound (kwok's pod-ready stage with a delay), deleted at once
// when deleted; and the nodes' (kwok's default node-initialize and
// node-heartbeat-with-lease stages, v0.8.0's kustomize/stage/node: a
// config that lists stages replaces all of kwok's defaults, and without
// node stages no node ever turns Ready).
const kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values:
      - 'True'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type  | Quote}}
      {{ end }}

      {{ $hasInternalIP := false }}
      {{ $hasHostname := false }}
      {{ range .status.addresses }}
        {{ if eq .type "InternalIP" }}
          {{ $hasInternalIP = true }}
        {{ end }}
        {{ if eq .type "Hostname" }}
          {{ $hasHostname = true }}
        {{ end }}
      {{ end }}
      {{ if or (not $hasInternalIP) (not $hasHostname) }}
      addresses:
      {{ end }}
      {{ if not $hasInternalIP }}
      {{ with NodeIP }}
      - address: {{ . | Quote }}
        type: InternalIP
      {{ end }}
      {{ end }}
      {{ if not $hasHostname }}
      {{ with NodeName }}
      - address: {{ . | Quote }}
        type: Hostname
      {{ end }}
      {{ end }}

      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}

      allocatable:
      {{ with .status.allocatable }}
      {{ YAML . 1 }}
      {{ else }}
        cpu: 1k
        memory: 1Ti
        pods: 1M
      {{ end }}
      capacity:
      {{ with .status.capacity }}
      {{ YAML . 1 }}
      {{ else }}
        cpu: 1k
        memory: 1Ti
        pods: 1M
      {{ end }}

      {{ $nodeInfo := .status.nodeInfo }}
      {{ $kwokVersion := printf "kwok-%s" Version }}
      nodeInfo:
        architecture: {{ or $nodeInfo.architecture "amd64" }}
        bootID: {{ or $nodeInfo.bootID ` + "`" + `""` + "`" + ` }}
        containerRuntimeVersion: {{ or $nodeInfo.containerRuntimeVersion $kwokVersion }}
        kernelVersion: {{ or $nodeInfo.kernelVersion $kwokVersion }}
        kubeProxyVersion: {{ or $nodeInfo.kubeProxyVersion $kwokVersion }}
        kubeletVersion: {{ or $nodeInfo.kubeletVersion $kwokVersion }}
        machineID: {{ or $nodeInfo.machineID ` + "`" + `""` + "`" + ` }}
        operatingSystem: {{ or $nodeInfo.operatingSystem "linux" }}
        osImage: {{ or $nodeInfo.osImage ` + "`" + `""` + "`" + ` }}
        systemUUID: {{ or $nodeInfo.systemUUID ` + "`" + `""` + "`" + ` }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat-with-lease
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values:
      - 'True'
  delay:
    durationMilliseconds: 600000
    jitterDurationMilliseconds: 610000
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}

      addresses:
      {{ with .status.addresses }}
      {{ YAML . 1 }}
      {{ else }}
      {{ with NodeIP }}
      - address: {{ . | Quote }}
        type: InternalIP
      {{ end }}
      {{ with NodeName }}
      - address: {{ . | Quote }}
        type: Hostname
      {{ end }}
      {{ end }}

      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  delay:
    durationMilliseconds: 50
    jitterDurationMilliseconds: 80
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`

// startPeer starts etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok and the claim provisioner on a fresh dataDir, creates
// the default StorageClass and the simulated nodes, and waits until the
// nodes are Ready.
func startPeer(ctx context.Context, binDir, self, dataDir string, pc peerConfig, nodes int) (c *cluster, err error) {
	c = &cluster{system: pc.name, nodes: nodes}
	started := c // c is nil on the error returns
	defer func() {
		if err != nil {
			started.stop()
		}
	}()
	if err := prepare(dataDir, etcdClientPort, etcdPeerPort, apiserverPort, kwokPort); err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", apiserverPort)
	cred, err := pkiFiles(dataDir, listen)
	if err != nil {
		return nil, err
	}
	bin := func(name string) string { return filepath.Join(binDir, name) }
	run := func(name, path string, args ...string) (*proc, error) {
		p, err := start(name, dataDir, path, args...)
		if err == nil {
			c.procs = append(c.procs, p)
		}
		return p, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort)
	etcd, err := run("etcd", bin("peer-etcd"), "--name", "peer", "--data-dir", filepath.Join(dataDir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "peer="+peerURL, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := etcd.waitFor(ctx, time.Minute, "/health", func() bool { return httpOK(etcdURL + "/health") }); err != nil {
		return nil, err
	}
	api, err := run("kube-apiserver", bin("kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(apiserverPort), "--advertise-address", "127.0.0.1",
		"--tls-cert-file", cred.servingCert, "--tls-private-key-file", cred.servingKey, "--client-ca-file", cred.caCert,
		"--token-auth-file", cred.tokens, "--authorization-mode", "Node,RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", cred.saPub, "--service-account-signing-key-file", cred.saKey,
		"--service-cluster-ip-range", "10.96.0.0/16", "--endpoint-reconciler-type", "none",
		"--cert-dir", filepath.Join(dataDir, "apiserver-certs"))
	if err != nil {
		return nil, err
	}
	if err := api.waitFor(ctx, 2*time.Minute, "/readyz", func() bool { return readyz(listen) }); err != nil {
		return nil, err
	}
	if c.cfg, c.cs, err = clientFor(cred.kubeconfig); err != nil {
		return nil, err
	}
	if err := workload.WaitFor(ctx, time.Minute, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := c.cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return nil, fmt.Errorf("peer: no default namespace: %w", err)
	}
	if err := createStorageClass(ctx, c.cs); err != nil {
		return nil, err
	}
	if _, err := run("kube-controller-manager", bin("kube-controller-manager"),
		"--kubeconfig", cred.kubeconfig, "--secure-port", "0", "--leader-elect=false",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file", cred.saKey, "--root-ca-file", cred.caCert,
		"--kube-api-qps", fmt.Sprint(pc.kcmQPS), "--kube-api-burst", fmt.Sprint(pc.kcmBurst),
		"--concurrent-statefulset-syncs", fmt.Sprint(pc.statefulSetConcurrency)); err != nil {
		return nil, err
	}
	schedConfig := filepath.Join(dataDir, "scheduler.yaml")
	if err := os.WriteFile(schedConfig, []byte(fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %s
  qps: %d
  burst: %d
leaderElection:
  leaderElect: false
`, cred.kubeconfig, pc.schedQPS, pc.schedBurst)), 0o600); err != nil {
		return nil, fmt.Errorf("scheduler config: %w", err)
	}
	if _, err := run("kube-scheduler", bin("kube-scheduler"), "--config", schedConfig, "--secure-port", "0"); err != nil {
		return nil, err
	}
	stages := filepath.Join(dataDir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages), 0o600); err != nil {
		return nil, fmt.Errorf("kwok stages: %w", err)
	}
	if _, err := run("kwok", bin("kwok"), "--kubeconfig", cred.kubeconfig, "--config", stages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		// The node-heartbeat-with-lease stage refreshes node status only every
		// 10 min: liveness comes from the node Leases, which kwok keeps only
		// when told their duration (a stages-only --config leaves it 0), else
		// the controller-manager sees no heartbeat for its grace period, marks
		// every node NotReady and evicts the pods.
		"--node-lease-duration-seconds", "40",
		"--server-address", fmt.Sprintf("127.0.0.1:%d", kwokPort), "--cidr", "10.240.0.0/16"); err != nil {
		return nil, err
	}
	if _, err := run("provisioner", self, "provision", "--kubeconfig", cred.kubeconfig); err != nil {
		return nil, err
	}
	if err := createNodes(ctx, c.cs, nodes); err != nil {
		return nil, err
	}
	return c, waitNodes(ctx, c)
}

func httpOK(url string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// provisionerName is the peer's StorageClass provisioner (provision.go).
const provisionerName = "peer.bench/local"

// createStorageClass makes the peer's default StorageClass "standard", as
// petset's: WaitForFirstConsumer, a local volume per claim.
func createStorageClass(ctx context.Context, cs kubernetes.Interface) error {
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := corev1.PersistentVolumeReclaimDelete
	_, err := cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "standard", Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: provisionerName, VolumeBindingMode: &wffc, ReclaimPolicy: &reclaim,
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	return nil
}

// createNodes registers the kwok nodes sim-1 … sim-N with room for 1,000
// pods each (peer.md).
func createNodes(ctx context.Context, cs kubernetes.Interface, nodes int) error {
	for i := 1; i <= nodes; i++ {
		name := fmt.Sprintf("sim-%d", i)
		capacity := corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods: resource.MustParse("1000"),
		}
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"}},
			Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
	}
	return nil
}

// waitNodes waits until the cluster's nodes are Ready.
func waitNodes(ctx context.Context, c *cluster) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t, err := workload.TrackNodes(ctx, c.cs)
	if err != nil {
		return fmt.Errorf("%s: nodes: %w", c.system, err)
	}
	if _, err := t.WaitUntil(ctx, 3*time.Minute, workload.NodesReady(c.nodes)); err != nil {
		return fmt.Errorf("%s: nodes not Ready: %w", c.system, err)
	}
	return nil
}

// petsetReady is petset up's ready line.
var petsetReady = regexp.MustCompile(`petset is ready; kubeconfig: (\S+)`)

// petsetDelays are petset's simulated-node delays, as test/bench's: Ready
// about 80 ms after the pod starts, deleted 10 ms after the request.
var petsetDelays = []string{"--simulate-start-delay", "50ms", "--simulate-ready-delay", "30ms", "--simulate-stop-delay", "10ms"}

// petsetW6Capacity gives petset's simulated nodes of W6 the peer's room
// for 1,000 pods each (their default is kwok's 110: 50 × 110 < 10,000).
var petsetW6Capacity = []string{"--simulate-node-capacity", "pods=1000"}

// startPetset starts `petset up --simulate-nodes N` (and extra flags) on a
// fresh dataDir and waits for its ready line and its nodes.
func startPetset(ctx context.Context, bin, dataDir, pprof string, nodes int, extra ...string) (c *cluster, err error) {
	c = &cluster{system: "petset", nodes: nodes}
	started := c // c is nil on the error returns
	defer func() {
		if err != nil {
			started.stop()
		}
	}()
	if err := prepare(dataDir, petsetPort); err != nil {
		return nil, err
	}
	args := append([]string{"up", "--data-dir", filepath.Join(dataDir, "data"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", petsetPort), "--bridge", "pspeer0",
		"--pod-cidr", "10.239.40.0/24", "--service-cidr", "10.139.40.0/24", "--dns-forward", "none",
		"--simulate-nodes", fmt.Sprint(nodes)}, petsetDelays...)
	args = append(args, extra...)
	if pprof != "" {
		args = append(args, "--profiling-address", pprof)
	}
	p, err := start("petset", dataDir, bin, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	var kubeconfig string
	if err := p.waitFor(ctx, 2*time.Minute, "ready line", func() bool {
		b, _ := os.ReadFile(p.log)
		if m := petsetReady.FindSubmatch(b); m != nil {
			kubeconfig = string(m[1])
			return true
		}
		return false
	}); err != nil {
		return nil, err
	}
	if c.cfg, c.cs, err = clientFor(kubeconfig); err != nil {
		return nil, err
	}
	return c, waitNodes(ctx, c)
}
