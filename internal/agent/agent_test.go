package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/image"
	"petset/internal/agent/probe"
	"petset/internal/agent/runtime"
	rtfake "petset/internal/agent/runtime/fake"
)

const node = "node-a"

type harness struct {
	t      *testing.T
	client *fake.Clientset
	rt     *rtfake.Runtime
	clock  Clock
	dir    string
	agent  *Agent // the last one started
	// wrapObjects, when set, wraps a started agent's object cache.
	wrapObjects func(objectCache) objectCache
}

func newHarness(t *testing.T, clk Clock) *harness {
	t.Helper()
	rt, err := rtfake.New(rtfake.Config{PodCIDR: "10.88.3.0/24", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, client: fake.NewSimpleClientset(), rt: rt, clock: clk, dir: t.TempDir()}
}

func (h *harness) config() Config {
	return Config{
		NodeName:      node,
		Client:        h.client,
		Runtime:       h.rt,
		NodeIP:        "192.0.2.10",
		Capacity:      corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
		Role:          "worker",
		VolumeDir:     h.dir + "/volumes",
		DNS:           DNS{Servers: []string{"10.96.0.10"}},
		PodCIDR:       "10.88.3.0/24",
		StreamingPort: 10250,
		ResyncPeriod:  time.Hour,
		Clock:         h.clock,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Prober:        probe.ByContainer(h.rt.Probe),
		CutOff:        rtfake.CutOff,
	}
}

// start runs an agent until the test ends (or stop is called).
func (h *harness) start(cfg Config) (stop func()) {
	h.t.Helper()
	a, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.agent = a
	if h.wrapObjects != nil {
		a.objects = h.wrapObjects(a.objects)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		h.t.Fatalf("agent stopped before ready: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("agent Run: %v", err)
		}
	}
	h.t.Cleanup(stop)
	return stop
}

// eventually waits (bounded) for cond, calling step between tries.
func eventually(t *testing.T, what string, cond func() bool, step func()) {
	t.Helper()
	for range 3000 {
		if cond() {
			return
		}
		if step != nil {
			step()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (h *harness) pod(name string) *corev1.Pod {
	p, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

// createVolumeAndClaim stores a volume and the claim bound to it before the
// agent starts.
func (h *harness) createVolumeAndClaim(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) createPod(p *corev1.Pod) *corev1.Pod {
	h.t.Helper()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if p.UID == "" {
		p.UID = types.UID("uid-" + p.Name)
	}
	p.Spec.NodeName = node
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	out, err := h.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func cond(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func isTrue(p *corev1.Pod, t corev1.PodConditionType) bool {
	c := cond(p, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

func simplePod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Hostname:  name,
			Subdomain: "web",
			Containers: []corev1.Container{{
				Name: "main", Image: "busybox", Command: []string{"sleep", "3600"},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1},
			}},
		},
	}
}

func TestNodeRegistrationLeaseAndReregistration(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, clk)
	cfg := h.config()
	// The lease controller renews on the real clock (wait.JitterUntil) every
	// quarter of the duration: 1s here; renewTime is the agent's clock.
	cfg.LeaseDuration = 4 * time.Second
	var leaseWrites atomic.Int64
	h.client.PrependReactor("*", "leases", func(action k8stesting.Action) (bool, apiruntime.Object, error) {
		if action.GetVerb() == "create" || action.GetVerb() == "update" {
			leaseWrites.Add(1)
		}
		return false, nil, nil
	})
	var uids atomic.Int64
	h.client.PrependReactor("create", "nodes", func(action k8stesting.Action) (bool, apiruntime.Object, error) {
		// UIDs as the API server gives them.
		action.(k8stesting.CreateAction).GetObject().(*corev1.Node).UID = types.UID(fmt.Sprintf("node-uid-%d", uids.Add(1)))
		return false, nil, nil
	})
	h.start(cfg)
	ctx := context.Background()

	n, err := h.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{corev1.LabelHostname: node, corev1.LabelOSStable: "linux", "node-role.kubernetes.io/worker": ""} {
		if got, ok := n.Labels[k]; !ok || got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if n.Annotations["petset.io/volume-dir"] != h.dir+"/volumes" {
		t.Errorf("volume-dir annotation = %q", n.Annotations["petset.io/volume-dir"])
	}
	if n.Spec.PodCIDR != "10.88.3.0/24" {
		t.Errorf("podCIDR = %q", n.Spec.PodCIDR)
	}
	if q := n.Status.Capacity[corev1.ResourceCPU]; q.String() != "4" {
		t.Errorf("cpu capacity = %s", q.String())
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("kubelet port = %d", n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady" {
			ready = true
		}
	}
	if !ready || len(n.Status.Conditions) != 4 {
		t.Errorf("conditions = %+v", n.Status.Conditions)
	}
	if len(n.Status.Addresses) != 2 || n.Status.Addresses[0].Address != "192.0.2.10" {
		t.Errorf("addresses = %+v", n.Status.Addresses)
	}

	var first time.Time
	leases := h.client.CoordinationV1().Leases("kube-node-lease")
	eventually(t, "lease created", func() bool {
		l, err := leases.Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false
		}
		first = l.Spec.RenewTime.Time
		return *l.Spec.LeaseDurationSeconds == 4 && *l.Spec.HolderIdentity == node
	}, nil)
	l, _ := leases.Get(ctx, node, metav1.GetOptions{})
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].Name != node || l.OwnerReferences[0].UID != n.UID {
		t.Errorf("lease owners = %+v, want the Node %s (uid %s)", l.OwnerReferences, node, n.UID)
	}
	eventually(t, "lease renewed", func() bool {
		l, err := leases.Get(ctx, node, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime.Time.After(first)
	}, func() { clk.Step(time.Second) })

	if err := h.client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node re-registered", func() bool {
		_, err := h.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil
	}, func() { clk.Step(time.Second) })

	// stop-heartbeat: the lease controller stops until the annotation goes.
	n, _ = h.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	n.Annotations[rtfake.SimulateAnnotation] = "stop-heartbeat"
	if _, err := h.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	leaseRunning := func() bool {
		h.agent.mu.Lock()
		defer h.agent.mu.Unlock()
		return h.agent.leaseRunning
	}
	eventually(t, "lease controller stopped", func() bool { return h.agent.heartbeatStopped() && !leaseRunning() },
		func() { clk.Step(time.Second) })
	// With the lease controller stopped nothing writes the lease; removing
	// the annotation starts it again and it writes.
	before := leaseWrites.Load()
	n, _ = h.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	delete(n.Annotations, rtfake.SimulateAnnotation)
	if _, err := h.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "heartbeat resumed", func() bool { return leaseWrites.Load() > before }, func() { clk.Step(time.Second) })
}

// The agent reports the QoS class the API server set at create, as
// kubelet does (GetPodQOS): pod-level resources decide it here, where the
// containers alone would be BestEffort.
func TestPodKeepsQOSClassOfAPIServer(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	p := simplePod("web-0")
	p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
	p.Spec.Resources.Requests = p.Spec.Resources.Limits.DeepCopy()
	p.Status.QOSClass = corev1.PodQOSGuaranteed
	h.createPod(p)
	eventually(t, "pod running", func() bool {
		p := h.pod("web-0")
		return p != nil && p.Status.Phase == corev1.PodRunning
	}, nil)
	if got := h.pod("web-0").Status.QOSClass; got != corev1.PodQOSGuaranteed {
		t.Errorf("status.qosClass = %q, want Guaranteed", got)
	}
}

func TestPodPendingRunningReady(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	p := simplePod("web-0")
	// Requests as the API server defaults them from limits.
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	p.Spec.Containers[0].Resources.Requests = p.Spec.Containers[0].Resources.Limits.DeepCopy()
	h.createPod(p)
	eventually(t, "pod ready", func() bool {
		p := h.pod("web-0")
		return p != nil && p.Status.Phase == corev1.PodRunning && isTrue(p, corev1.PodReady)
	}, nil)
	got := h.pod("web-0")
	st := got.Status
	if !strings.HasPrefix(st.PodIP, "10.88.3.") || len(st.PodIPs) != 1 {
		t.Errorf("podIP %q podIPs %v", st.PodIP, st.PodIPs)
	}
	if st.HostIP != "192.0.2.10" || st.StartTime == nil || st.QOSClass != corev1.PodQOSGuaranteed {
		t.Errorf("hostIP %q startTime %v qos %q", st.HostIP, st.StartTime, st.QOSClass)
	}
	for _, c := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		if !isTrue(got, c) {
			t.Errorf("condition %s not true: %+v", c, cond(got, c))
		}
	}
	cs := st.ContainerStatuses[0]
	if cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || cs.RestartCount != 0 || !strings.HasPrefix(cs.ContainerID, "petset://") || cs.Image != "busybox" {
		t.Errorf("container status %+v", cs)
	}
	sc, ok := h.rt.SandboxConfig(string(got.UID))
	if !ok {
		t.Fatal("no sandbox")
	}
	if sc.Hostname != "web-0" {
		t.Errorf("hostname %q", sc.Hostname)
	}
	if want := "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"; string(sc.ResolvConf) != want {
		t.Errorf("resolv.conf %q", sc.ResolvConf)
	}
	id := strings.TrimPrefix(cs.ContainerID, "petset://")
	cc, _ := h.rt.ContainerConfig(id)
	if strings.Join(cc.Argv, " ") != "sleep 3600" {
		t.Errorf("argv %q", cc.Argv)
	}
	var hostsMount string
	for _, m := range cc.Mounts {
		if m.ContainerPath == "/etc/hosts" {
			hostsMount = m.HostPath
		}
	}
	if hostsMount == "" {
		t.Fatal("no /etc/hosts mount")
	}
	// The status is stable: computed again from the same state (as a
	// resync does), it equals the one posted, so nothing is written.
	list, err := h.rt.ListContainers(context.Background(), string(got.UID))
	if err != nil {
		t.Fatal(err)
	}
	again := podStatus(&podState{
		pod: got, now: time.Now().Add(time.Hour), nodeIP: "192.0.2.10", podIP: st.PodIP, containers: instances(list),
		probes: map[string]probe.State{id: {Started: true, Ready: true}}, failures: newFailures(),
	})
	if !apiequality.Semantic.DeepEqual(again, got.Status) {
		t.Errorf("status computed again differs from the one posted:\n%+v\n%+v", again, got.Status)
	}
}

func TestInitContainersRunInOrder(t *testing.T) {
	// Init containers that run until the test makes them exit.
	rt, err := rtfake.New(rtfake.Config{PodCIDR: "10.88.3.0/24", InitDuration: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: fake.NewSimpleClientset(), rt: rt, dir: t.TempDir()}
	h.start(h.config())
	p := simplePod("init-0")
	p.Spec.Containers[0].ReadinessProbe = nil
	p.Spec.InitContainers = []corev1.Container{
		{Name: "first", Image: "busybox", Command: []string{"true"}},
		{Name: "second", Image: "busybox", Command: []string{"true"}},
	}
	p = h.createPod(p)
	containers := func() map[string][]runtime.ContainerStatus {
		l, _ := h.rt.ListContainers(context.Background(), string(p.UID))
		return instances(l)
	}
	eventually(t, "first init container running", func() bool {
		c := containers()["first"]
		return len(c) == 1 && c[0].State == runtime.StateRunning
	}, nil)
	eventually(t, "pending with init status", func() bool {
		p := h.pod("init-0")
		c := cond(p, corev1.PodInitialized)
		return p.Status.Phase == corev1.PodPending && c != nil && c.Status == corev1.ConditionFalse &&
			c.Message == "containers with incomplete status: [first second]" &&
			len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "PodInitializing"
	}, nil)
	if c := containers(); len(c["second"]) != 0 || len(c["main"]) != 0 {
		t.Fatalf("started out of order: %v", c)
	}
	if err := h.rt.Exit(containers()["first"][0].ID, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "second init container running", func() bool {
		c := containers()["second"]
		return len(c) == 1 && c[0].State == runtime.StateRunning
	}, nil)
	if c := containers(); len(c["main"]) != 0 {
		t.Fatal("app container started before init finished")
	}
	if err := h.rt.Exit(containers()["second"][0].ID, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "initialized and running", func() bool {
		p := h.pod("init-0")
		return p.Status.Phase == corev1.PodRunning && isTrue(p, corev1.PodInitialized) && isTrue(p, corev1.PodReady) &&
			len(p.Status.InitContainerStatuses) == 2 && p.Status.InitContainerStatuses[1].State.Terminated != nil &&
			p.Status.InitContainerStatuses[1].State.Terminated.Reason == "Completed"
	}, nil)
}

func TestCrashLoopBackOff(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, clk)
	h.start(h.config())
	p := simplePod("crash-0")
	p.Spec.Containers[0].ReadinessProbe = nil
	p.Annotations = map[string]string{rtfake.SimulateAnnotation: "fail"}
	h.createPod(p)
	status := func() corev1.ContainerStatus {
		p := h.pod("crash-0")
		if p == nil || len(p.Status.ContainerStatuses) == 0 {
			return corev1.ContainerStatus{}
		}
		return p.Status.ContainerStatuses[0]
	}
	// First failure restarts at once; the second waits 10s.
	eventually(t, "back-off after second failure", func() bool {
		s := status()
		return s.RestartCount == 1 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff" &&
			s.LastTerminationState.Terminated != nil && s.LastTerminationState.Terminated.ExitCode == 1
	}, nil)
	if msg := status().State.Waiting.Message; !strings.Contains(msg, "back-off 10s restarting failed container=main pod=crash-0_default") {
		t.Errorf("message %q", msg)
	}
	if p := h.pod("crash-0"); p.Status.Phase != corev1.PodRunning || isTrue(p, corev1.PodReady) {
		t.Errorf("phase %s ready %v", p.Status.Phase, isTrue(p, corev1.PodReady))
	}
	// restartedAfter checks the newest instance started at least d after
	// the previous one finished (the decision itself is TestComputePod's).
	restartedAfter := func(d time.Duration) {
		t.Helper()
		l, _ := h.rt.ListContainers(context.Background(), string(h.pod("crash-0").UID))
		byName := instances(l)["main"]
		if len(byName) < 2 || byName[0].StartedAt.Sub(byName[1].FinishedAt) < d {
			t.Errorf("restarted %v after the previous exit, want at least %v", byName[0].StartedAt.Sub(byName[1].FinishedAt), d)
		}
	}
	clk.Step(9 * time.Second)
	clk.Step(time.Second)
	eventually(t, "restart after 10s", func() bool {
		s := status()
		return s.RestartCount == 2 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff"
	}, nil)
	restartedAfter(10 * time.Second)
	if msg := status().State.Waiting.Message; !strings.Contains(msg, "back-off 20s") {
		t.Errorf("message %q", msg)
	}
	clk.Step(19 * time.Second)
	clk.Step(time.Second)
	eventually(t, "restart after 20s", func() bool { return status().RestartCount == 3 }, nil)
	restartedAfter(20 * time.Second)
	// Only the current and previous instances are kept.
	pod := h.pod("crash-0")
	l, _ := h.rt.ListContainers(context.Background(), string(pod.UID))
	if len(l) != 2 {
		t.Errorf("kept %d instances, want 2", len(l))
	}
}

func TestRestartPolicyNeverAndSimulatedOutcomes(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	for _, tc := range []struct {
		name, annotation string
		phase            corev1.PodPhase
		exit             int32
		reason           string
	}{
		{"fails", "fail", corev1.PodFailed, 1, "Error"},
		{"succeeds", "succeed", corev1.PodSucceeded, 0, "Completed"},
	} {
		p := simplePod(tc.name)
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].ReadinessProbe = nil
		p.Annotations = map[string]string{rtfake.SimulateAnnotation: tc.annotation}
		h.createPod(p)
		eventually(t, tc.name+" terminal", func() bool {
			p := h.pod(tc.name)
			if p.Status.Phase != tc.phase || len(p.Status.ContainerStatuses) != 1 {
				return false
			}
			term := p.Status.ContainerStatuses[0].State.Terminated
			return term != nil && term.ExitCode == tc.exit && term.Reason == tc.reason && !isTrue(p, corev1.PodReady)
		}, nil)
	}
	// The sandbox of a terminal pod is stopped by the sync after the one
	// that posted the terminal status.
	eventually(t, "the terminal pods' sandboxes stopped", func() bool {
		sb, _ := h.rt.ListSandboxes(context.Background())
		return len(sb) == 0
	}, nil)
}

func TestGracefulDeletion(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	p := simplePod("del-0")
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	h.createPod(p)
	eventually(t, "running", func() bool { return h.pod("del-0").Status.Phase == corev1.PodRunning }, nil)
	ctx := context.Background()
	cur := h.pod("del-0")
	now := metav1.Now()
	cur.DeletionTimestamp = &now
	grace := int64(30)
	cur.DeletionGracePeriodSeconds = &grace
	if _, err := h.client.CoreV1().Pods("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod deleted by the agent", func() bool {
		_, err := h.client.CoreV1().Pods("default").Get(ctx, "del-0", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, nil)
	var sawGraceZero bool
	for _, act := range h.client.Actions() {
		if d, ok := act.(k8stesting.DeleteActionImpl); ok && d.GetResource().Resource == "pods" {
			o := d.GetDeleteOptions()
			if o.GracePeriodSeconds != nil && *o.GracePeriodSeconds == 0 && o.Preconditions != nil && o.Preconditions.UID != nil && *o.Preconditions.UID == cur.UID {
				sawGraceZero = true
			}
		}
	}
	if !sawGraceZero {
		t.Error("no pod delete with grace 0 and a UID precondition issued")
	}
	eventually(t, "sandbox gone", func() bool {
		sb, _ := h.rt.ListSandboxes(ctx)
		return len(sb) == 0
	}, nil)
}

func TestAdoptionAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	stop := h.start(h.config())
	h.createPod(simplePod("keep-0"))
	eventually(t, "ready", func() bool { p := h.pod("keep-0"); return p != nil && isTrue(p, corev1.PodReady) }, nil)
	before := h.pod("keep-0").Status.ContainerStatuses[0].ContainerID
	stop()

	// An orphan: a sandbox whose pod no longer exists.
	ctx := context.Background()
	if _, err := h.rt.RunSandbox(ctx, runtime.SandboxConfig{UID: "orphan", Namespace: "default", Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.rt.StartContainer(ctx, "orphan", runtime.ContainerConfig{Name: "c", Argv: []string{"sleep"}}); err != nil {
		t.Fatal(err)
	}
	h.start(h.config())
	eventually(t, "orphan torn down", func() bool {
		sb, _ := h.rt.ListSandboxes(ctx)
		return len(sb) == 1 && sb[0].Name == "keep-0"
	}, nil)
	p := h.pod("keep-0")
	l, _ := h.rt.ListContainers(ctx, string(p.UID))
	if len(l) != 1 || "petset://"+l[0].ID != before {
		t.Fatalf("containers after adoption: %+v (before %s)", l, before)
	}
	eventually(t, "still ready after adoption", func() bool {
		p := h.pod("keep-0")
		return isTrue(p, corev1.PodReady) && p.Status.ContainerStatuses[0].ContainerID == before
	}, nil)
}

func TestImageNotFound(t *testing.T) {
	h := newHarness(t, nil)
	cfg := h.config()
	cfg.Images = image.New()
	h.start(cfg)
	p := simplePod("img-0")
	p.Spec.Containers[0].Command = nil
	p.Spec.Containers[0].Image = "no-such-image:1"
	h.createPod(p)
	reasons := map[string]string{}
	eventually(t, "ImagePullBackOff", func() bool {
		cs := h.pod("img-0").Status.ContainerStatuses
		if len(cs) == 1 && cs[0].State.Waiting != nil {
			reasons[cs[0].State.Waiting.Reason] = cs[0].State.Waiting.Message
		}
		_, ok := reasons["ImagePullBackOff"]
		return ok
	}, nil)
	if msg := reasons["ImagePullBackOff"]; !strings.Contains(msg, `Back-off pulling image "no-such-image:1"`) || !strings.Contains(msg, "not found") {
		t.Errorf("message %q", msg)
	}
	if p := h.pod("img-0"); p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s", p.Status.Phase)
	}
}

func TestContainerID(t *testing.T) {
	h := newHarness(t, nil)
	a, err := New(h.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-a.Ready()
	p := simplePod("id-0")
	p.Spec.Containers[0].ReadinessProbe = nil
	h.createPod(p)
	eventually(t, "running", func() bool { return h.pod("id-0").Status.Phase == corev1.PodRunning }, nil)
	id, err := a.ContainerID("default", "id-0", "main", false)
	if err != nil || "petset://"+id != h.pod("id-0").Status.ContainerStatuses[0].ContainerID {
		t.Fatalf("ContainerID = %q, %v", id, err)
	}
	if _, err := a.ContainerID("default", "id-0", "main", true); err == nil {
		t.Error("previous container found for a container that never restarted")
	}
	if _, err := a.ContainerID("default", "missing", "main", false); err == nil {
		t.Error("container of a missing pod found")
	}
}

func TestLivenessFailureRestartsContainer(t *testing.T) {
	h := newHarness(t, nil)
	cfg := h.config()
	cfg.Prober = nil // real probes: exec through the runtime
	h.start(cfg)
	p := simplePod("live-0")
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1}
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}, PeriodSeconds: 1, FailureThreshold: 1}
	grace := int64(0)
	p.Spec.TerminationGracePeriodSeconds = &grace
	h.createPod(p)
	eventually(t, "restart after liveness failure", func() bool {
		p := h.pod("live-0")
		if p == nil || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		return cs.RestartCount >= 1 && cs.LastTerminationState.Terminated != nil
	}, nil)
}

func TestPersistentVolumeClaimMount(t *testing.T) {
	h := newHarness(t, nil)
	pvPath := h.dir + "/volumes/pvc-77"
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-77"},
		Spec:       corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: pvPath}}},
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "default"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-77"},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	h.createVolumeAndClaim(pv, pvc)
	h.start(h.config())
	p := simplePod("db-0")
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-db-0"}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}}
	h.createPod(p)
	eventually(t, "running", func() bool { p := h.pod("db-0"); return p != nil && p.Status.Phase == corev1.PodRunning }, nil)
	id := strings.TrimPrefix(h.pod("db-0").Status.ContainerStatuses[0].ContainerID, "petset://")
	cc, _ := h.rt.ContainerConfig(id)
	found := false
	for _, m := range cc.Mounts {
		if m.ContainerPath == "/var/lib/db" && m.HostPath == pvPath {
			found = true
		}
	}
	if !found {
		t.Errorf("mounts %+v", cc.Mounts)
	}
	if _, err := os.Stat(pvPath); err != nil {
		t.Errorf("volume directory not created: %v", err)
	}
}

func TestSimulatedTimeline(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, err := rtfake.New(rtfake.Config{PodCIDR: "10.88.3.0/24", StartDelay: 2 * time.Second, ReadyDelay: 5 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: fake.NewSimpleClientset(), rt: rt, clock: clk, dir: t.TempDir()}
	h.start(h.config())
	p := simplePod("sim-0")
	p.Spec.Containers[0].Command = nil
	p.Spec.Containers[0].Image = "nginx"
	h.createPod(p)
	eventually(t, "pending, container creating", func() bool {
		p := h.pod("sim-0")
		if p == nil || len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return p.Status.Phase == corev1.PodPending && w != nil && w.Reason == "ContainerCreating"
	}, nil)
	// The container is created, not yet running: the agent holds the
	// status back until it runs (kubelet writes no state in between).
	eventually(t, "the container created", func() bool {
		p := h.pod("sim-0")
		if p == nil {
			return false
		}
		cs, err := rt.ListContainers(context.Background(), string(p.UID))
		return err == nil && len(cs) == 1 && cs[0].State == runtime.StateCreated
	}, nil)
	clk.Step(2 * time.Second)
	eventually(t, "running, not ready", func() bool {
		p := h.pod("sim-0")
		return p.Status.Phase == corev1.PodRunning && !isTrue(p, corev1.PodReady) && p.Status.PodIP != ""
	}, nil)
	eventually(t, "ready after the ready delay", func() bool {
		return isTrue(h.pod("sim-0"), corev1.PodReady)
	}, func() { clk.Step(time.Second) })
	if now, ready := clk.Now(), cond(h.pod("sim-0"), corev1.PodReady); ready.LastTransitionTime.Time.Before(now.Add(-time.Hour)) {
		t.Errorf("ready transition time %v", ready.LastTransitionTime)
	}
}

// TestSimulatedInitContainers: on a simulated node init containers run to
// completion one after the other, each for the init duration, then the app
// container starts; statuses go through the states kubectl shows as
// Init:0/2, Init:1/2, PodInitializing and Running. With the simulate
// annotation "fail" the first init container fails and is restarted with
// back-off (Init:Error, Init:CrashLoopBackOff).
func TestSimulatedInitContainers(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, err := rtfake.New(rtfake.Config{PodCIDR: "10.88.3.0/24", StartDelay: time.Second, InitDuration: 3 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: fake.NewSimpleClientset(), rt: rt, clock: clk, dir: t.TempDir()}
	h.start(h.config())
	p := simplePod("db-0")
	p.Spec.Containers[0].ReadinessProbe = nil
	p.Spec.InitContainers = []corev1.Container{
		{Name: "init-perms", Image: "busybox", Command: []string{"chown", "-R", "999", "/data"}},
		{Name: "init-schema", Image: "busybox", Command: []string{"migrate"}},
	}
	h.createPod(p)
	states := func() string {
		p := h.pod("db-0")
		if p == nil || len(p.Status.InitContainerStatuses) != 2 || len(p.Status.ContainerStatuses) != 1 {
			return ""
		}
		return fmt.Sprintf("%s %s %s %s", p.Status.Phase, stateOf(p.Status.InitContainerStatuses[0]),
			stateOf(p.Status.InitContainerStatuses[1]), stateOf(p.Status.ContainerStatuses[0]))
	}
	want := func(what, s string) {
		t.Helper()
		eventually(t, what+" ("+s+")", func() bool { return states() == s }, nil)
	}
	// waitTimer waits until the runtime or the agent has armed a timer.
	waitTimer := func() {
		t.Helper()
		eventually(t, "a timer", func() bool { return clk.Waiters() > 0 }, nil)
	}
	want("first init container created", "Pending waiting:PodInitializing waiting:PodInitializing waiting:PodInitializing")
	clk.Step(time.Second)
	want("first init container running", "Pending running waiting:PodInitializing waiting:PodInitializing")
	waitTimer()
	clk.Step(2 * time.Second)
	if s := states(); s != "Pending running waiting:PodInitializing waiting:PodInitializing" {
		t.Fatalf("before its init duration: %s", s)
	}
	// created waits until the runtime holds the named container, created
	// and not yet running: that holds the pod's status back until it runs
	// (its start delay here).
	created := func(name string) {
		t.Helper()
		eventually(t, name+" created", func() bool {
			l, err := h.rt.ListContainers(context.Background(), string(h.pod("db-0").UID))
			if err != nil {
				return false
			}
			for _, c := range l {
				if c.Name == name && c.State == runtime.StateCreated {
					return true
				}
			}
			return false
		}, nil)
	}
	clk.Step(time.Second)
	created("init-schema")
	// A completed init container is news: written while the next one is
	// only created (kubectl shows Init:1/2).
	want("second init container created", "Pending terminated:Completed:0 waiting:PodInitializing waiting:PodInitializing")
	clk.Step(time.Second)
	want("second init container running", "Pending terminated:Completed:0 running waiting:PodInitializing")
	waitTimer()
	clk.Step(3 * time.Second)
	created("main")
	// All init containers completed, the app container created, not yet
	// running: kubectl shows PodInitializing.
	want("app container created", "Pending terminated:Completed:0 terminated:Completed:0 waiting:PodInitializing")
	clk.Step(time.Second)
	want("app container running", "Running terminated:Completed:0 terminated:Completed:0 running")
	if p := h.pod("db-0"); !isTrue(p, corev1.PodInitialized) {
		t.Errorf("Initialized %+v once both init containers completed", cond(p, corev1.PodInitialized))
	}
	eventually(t, "ready", func() bool { return isTrue(h.pod("db-0"), corev1.PodReady) }, nil)
	if p := h.pod("db-0"); p.Status.InitContainerStatuses[0].State.Terminated.FinishedAt.Sub(p.Status.InitContainerStatuses[0].State.Terminated.StartedAt.Time) != 3*time.Second {
		t.Errorf("first init container ran %v, want the 3s init duration", p.Status.InitContainerStatuses[0].State.Terminated)
	}

	// A failing init container: Init:Error then Init:CrashLoopBackOff.
	f := simplePod("fail-0")
	f.Annotations = map[string]string{rtfake.SimulateAnnotation: "fail"}
	f.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"migrate"}}}
	h.createPod(f)
	initStatus := func() corev1.ContainerStatus {
		p := h.pod("fail-0")
		if p == nil || len(p.Status.InitContainerStatuses) != 1 {
			return corev1.ContainerStatus{}
		}
		return p.Status.InitContainerStatuses[0]
	}
	eventually(t, "init container failed and waiting in back-off", func() bool {
		cs := initStatus()
		return cs.RestartCount == 1 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" &&
			cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.Reason == "Error" &&
			cs.LastTerminationState.Terminated.ExitCode == 1
	}, func() { clk.Step(time.Second) })
	if p := h.pod("fail-0"); p.Status.Phase != corev1.PodPending || isTrue(p, corev1.PodInitialized) ||
		p.Status.ContainerStatuses[0].State.Waiting == nil || p.Status.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" {
		t.Errorf("pod with a failing init container: phase %s, initialized %v, app %+v", p.Status.Phase, isTrue(p, corev1.PodInitialized), p.Status.ContainerStatuses[0].State)
	}
}

// TestCapacityOnly: a simulated node reports exactly the configured
// capacity as capacity and allocatable, nothing detected from the host.
func TestCapacityOnly(t *testing.T) {
	h := newHarness(t, nil)
	cfg := h.config()
	cfg.Capacity = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	cfg.CapacityOnly = true
	h.start(cfg)
	n, err := h.client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for what, l := range map[string]corev1.ResourceList{"capacity": n.Status.Capacity, "allocatable": n.Status.Allocatable} {
		if len(l) != 3 || l.Cpu().String() != "32" || l.Memory().String() != "256Gi" || l.Pods().String() != "110" {
			t.Errorf("%s %v, want exactly cpu 32, memory 256Gi, pods 110", what, l)
		}
	}
}
