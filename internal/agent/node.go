package agent

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/apimachinery/lease"

	"golang.org/x/sys/unix"

	"petset/internal/agent/volume"
	"petset/internal/fencing"
	"petset/internal/logging"
)

// capacity is the node's capacity: detected, overridden by Config.Capacity
// (or Config.Capacity alone with Config.CapacityOnly).
func (a *Agent) capacity() corev1.ResourceList {
	if a.cfg.CapacityOnly {
		return a.cfg.Capacity.DeepCopy()
	}
	c := corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: *resource.NewQuantity(110, resource.DecimalSI),
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		c[corev1.ResourceMemory] = *resource.NewQuantity(int64(si.Totalram)*int64(si.Unit), resource.BinarySI)
	}
	var st unix.Statfs_t
	dir := a.cfg.VolumeDir
	for dir != "/" && unix.Statfs(dir, &st) != nil {
		dir = parentDir(dir)
	}
	if unix.Statfs(dir, &st) == nil {
		c[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(st.Blocks)*st.Bsize, resource.BinarySI)
	}
	for k, v := range a.cfg.Capacity {
		c[k] = v.DeepCopy()
	}
	return c
}

func parentDir(p string) string {
	i := strings.LastIndex(strings.TrimSuffix(p, "/"), "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func machineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// nodeLabels are the labels the agent maintains on its Node.
func (a *Agent) nodeLabels() map[string]string {
	l := map[string]string{
		corev1.LabelHostname:      a.cfg.NodeName,
		corev1.LabelOSStable:      goruntime.GOOS,
		corev1.LabelArchStable:    goruntime.GOARCH,
		"beta.kubernetes.io/os":   goruntime.GOOS,
		"beta.kubernetes.io/arch": goruntime.GOARCH,
	}
	if a.cfg.Role != "" {
		l["node-role.kubernetes.io/"+a.cfg.Role] = ""
	}
	for k, v := range a.cfg.Labels {
		l[k] = v
	}
	return l
}

// newNode is the Node the agent registers.
func (a *Agent) newNode() *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   a.cfg.NodeName,
			Labels: a.nodeLabels(),
			Annotations: map[string]string{
				volume.VolumeDirAnnotation:                               a.cfg.VolumeDir,
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		Spec: corev1.NodeSpec{Taints: a.cfg.Taints},
	}
	for k, v := range a.cfg.Annotations {
		n.Annotations[k] = v
	}
	if a.cfg.PodCIDR != "" {
		n.Spec.PodCIDR = a.cfg.PodCIDR
		n.Spec.PodCIDRs = []string{a.cfg.PodCIDR}
	}
	a.setNodeStatus(n)
	return n
}

func setCondition(conds []corev1.NodeCondition, c corev1.NodeCondition) []corev1.NodeCondition {
	for i := range conds {
		if conds[i].Type == c.Type {
			if conds[i].Status == c.Status {
				c.LastTransitionTime = conds[i].LastTransitionTime
			}
			conds[i] = c
			return conds
		}
	}
	return append(conds, c)
}

// setNodeStatus fills n.Status as kubelet does; heartbeat times are now.
func (a *Agent) setNodeStatus(n *corev1.Node) {
	now := metav1.NewTime(a.clock.Now().Truncate(time.Second))
	capa := a.capacity()
	n.Status.Capacity = capa
	n.Status.Allocatable = capa.DeepCopy()
	var addrs []corev1.NodeAddress
	if a.cfg.NodeIP != "" {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a.cfg.NodeIP})
	}
	n.Status.Addresses = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: a.cfg.NodeName})
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	for _, c := range []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	} {
		n.Status.Conditions = setCondition(n.Status.Conditions, c)
	}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = a.cfg.StreamingPort
	n.Status.NodeInfo = corev1.NodeSystemInfo{
		MachineID:               machineID(),
		SystemUUID:              machineID(),
		BootID:                  bootID(),
		KernelVersion:           kernelVersion(),
		OSImage:                 "petset",
		ContainerRuntimeVersion: "petset://" + a.cfg.Version,
		KubeletVersion:          a.cfg.Version,
		OperatingSystem:         goruntime.GOOS,
		Architecture:            goruntime.GOARCH,
	}
}

// registerUntilDone registers the node, retrying until it works or ctx ends.
func (a *Agent) registerUntilDone(ctx context.Context) error {
	delay := 100 * time.Millisecond
	for {
		err := a.register(ctx)
		if err == nil {
			return nil
		}
		a.log.Warn("registering node", logging.ErrKey, err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent: registering node %s: %w", a.cfg.NodeName, err)
		case <-a.clock.After(delay):
		}
		if delay < 7*time.Second {
			delay *= 2
		}
	}
}

// register creates the Node or, when it exists, brings the agent's labels,
// annotations and podCIDR onto it.
func (a *Agent) register(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	created, err := nodes.Create(ctx, a.newNode(), metav1.CreateOptions{})
	if err == nil {
		a.mu.Lock()
		a.nodeUID = created.UID
		a.mu.Unlock()
		a.log.Info("node registered")
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating node: %w", err)
	}
	existing, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading node: %w", err)
	}
	n := existing.DeepCopy()
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for k, v := range a.nodeLabels() {
		n.Labels[k] = v
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[volume.VolumeDirAnnotation] = a.cfg.VolumeDir
	if a.cfg.Fence == nil {
		// An agent without a fence: the control plane must not fail this
		// node's pods over (a previous agent may have announced one).
		delete(n.Annotations, fencing.FenceTimeoutAnnotation)
	}
	for k, v := range a.cfg.Annotations {
		n.Annotations[k] = v
	}
	if n.Spec.PodCIDR == "" && a.cfg.PodCIDR != "" {
		n.Spec.PodCIDR = a.cfg.PodCIDR
		n.Spec.PodCIDRs = []string{a.cfg.PodCIDR}
	}
	if !apiequality.Semantic.DeepEqual(n.ObjectMeta, existing.ObjectMeta) || !apiequality.Semantic.DeepEqual(n.Spec, existing.Spec) {
		if n, err = nodes.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating node: %w", err)
		}
	}
	a.mu.Lock()
	a.nodeUID = n.UID
	a.mu.Unlock()
	if err := a.postStatus(ctx, n); err != nil {
		return err
	}
	a.log.Info("node re-registered")
	return nil
}

func (a *Agent) postStatus(ctx context.Context, n *corev1.Node) error {
	n = n.DeepCopy()
	a.setNodeStatus(n)
	if _, err := a.cfg.Heartbeat.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("posting node status: %w", err)
	}
	return nil
}

func (a *Agent) heartbeatStopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopHeartbeat
}

// nodeStatusLoop checks the Node every StatusUpdateFrequency: it registers
// it again when deleted, follows the stop-heartbeat annotation and posts
// status when it changed or StatusReportFrequency passed.
func (a *Agent) nodeStatusLoop(ctx context.Context) {
	var lastPost time.Time = a.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.clock.After(a.cfg.StatusUpdateFrequency):
		}
		n, err := a.cfg.Heartbeat.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if err := a.register(ctx); err != nil {
				a.log.Warn("re-registering node", logging.ErrKey, err)
			} else {
				lastPost = a.clock.Now()
			}
			continue
		}
		if err != nil {
			a.log.Warn("reading node", logging.ErrKey, err)
			continue
		}
		stop := a.cfg.CutOff != nil && a.cfg.CutOff(n)
		a.mu.Lock()
		changed := stop != a.stopHeartbeat
		a.stopHeartbeat = stop
		a.nodeUID = n.UID
		a.mu.Unlock()
		if changed {
			a.log.Info("heartbeat simulation changed", "stopped", stop)
			select {
			case a.heartbeatChanged <- struct{}{}:
			default:
			}
		}
		if stop {
			continue
		}
		want := n.DeepCopy()
		a.setNodeStatus(want)
		if !statusChanged(n, want) && a.clock.Since(lastPost) < a.cfg.StatusReportFrequency && !changed {
			continue
		}
		if _, err := a.cfg.Heartbeat.CoreV1().Nodes().UpdateStatus(ctx, want, metav1.UpdateOptions{}); err != nil {
			a.log.Warn("posting node status", logging.ErrKey, err)
			continue
		}
		lastPost = a.clock.Now()
	}
}

// statusChanged compares node status ignoring heartbeat times.
func statusChanged(old, new *corev1.Node) bool {
	o, n := old.Status.DeepCopy(), new.Status.DeepCopy()
	for i := range o.Conditions {
		o.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	for i := range n.Conditions {
		n.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	return !apiequality.Semantic.DeepEqual(o, n)
}

// leaseLoop runs kubelet's node lease controller
// (k8s.io/component-helpers/apimachinery/lease): kube-node-lease/<node>,
// renewed every quarter of LeaseDuration, owned by the Node, ensured again
// with a back-off (to 7s) when an update fails. While the node is cut off
// (Config.CutOff), the controller does not run.
func (a *Agent) leaseLoop(ctx context.Context) {
	ctrl := lease.NewController(a.clock, a.cfg.Heartbeat, a.cfg.NodeName, int32(a.cfg.LeaseDuration/time.Second),
		nil, a.cfg.LeaseDuration/4, a.cfg.NodeName, corev1.NamespaceNodeLease, a.setLeaseOwner)
	for {
		runCtx, cancel := context.WithCancel(ctx)
		var running chan struct{}
		if !a.heartbeatStopped() {
			running = make(chan struct{})
			go func() { defer close(running); ctrl.Run(runCtx) }()
		}
		a.setLeaseRunning(running != nil)
		select {
		case <-ctx.Done():
		case <-a.heartbeatChanged:
		}
		cancel()
		if running != nil {
			<-running
		}
		a.setLeaseRunning(false)
		if ctx.Err() != nil {
			return
		}
	}
}

// setLeaseOwner makes the Node the lease's owner, as kubelet's
// setNodeOwnerFunc does, on the first renewal that knows the Node's UID (the
// lease loop starts after registration, so that is the first one against a
// real API server).
func (a *Agent) setLeaseOwner(l *coordinationv1.Lease) error {
	a.mu.Lock()
	uid := a.nodeUID
	a.mu.Unlock()
	if len(l.OwnerReferences) == 0 && uid != "" {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: a.cfg.NodeName, UID: uid}}
	}
	return nil
}

func (a *Agent) setLeaseRunning(running bool) {
	a.mu.Lock()
	a.leaseRunning = running
	a.mu.Unlock()
}
