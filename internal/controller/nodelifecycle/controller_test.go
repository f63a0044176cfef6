package nodelifecycle

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

type env struct {
	client *fake.Clientset
	clock  *testingclock.FakeClock
	c      *Controller
	ctx    context.Context
}

// newEnv builds the controller over a fake clientset whose pod deletes are
// graceful, as the API server's are for bound pods: the pod only gets a
// deletionTimestamp, because no agent will finish it.
func newEnv(t *testing.T, cfg Config, objs ...runtime.Object) *env {
	t.Helper()
	client := fake.NewClientset(objs...)
	client.PrependReactor("delete", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		da := a.(clienttesting.DeleteActionImpl)
		obj, err := client.Tracker().Get(v1.SchemeGroupVersion.WithResource("pods"), da.Namespace, da.Name)
		if err != nil {
			return true, nil, err
		}
		p := obj.(*v1.Pod).DeepCopy()
		if pre := da.DeleteOptions.Preconditions; pre != nil && pre.UID != nil && *pre.UID != p.UID {
			return true, nil, apierrors.NewConflict(v1.Resource("pods"), da.Name, nil)
		}
		if g := da.DeleteOptions.GracePeriodSeconds; g != nil && *g == 0 {
			// A force delete removes the object at once.
			return true, nil, client.Tracker().Delete(v1.SchemeGroupVersion.WithResource("pods"), da.Namespace, da.Name)
		}
		if p.DeletionTimestamp == nil {
			now := metav1.Now()
			grace := int64(30)
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
		}
		return true, nil, client.Tracker().Update(v1.SchemeGroupVersion.WithResource("pods"), p, p.Namespace)
	})
	// Lease updates are conditional on a non-empty resourceVersion, as the
	// API server's; every write gets a new one.
	var leaseRV atomic.Int64
	leaseRV.Store(100)
	client.PrependReactor("update", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		ua := a.(clienttesting.UpdateActionImpl)
		l := ua.Object.(*coordinationv1.Lease).DeepCopy()
		gvr := coordinationv1.SchemeGroupVersion.WithResource("leases")
		obj, err := client.Tracker().Get(gvr, l.Namespace, l.Name)
		if err != nil {
			return true, nil, err
		}
		if l.ResourceVersion != "" && l.ResourceVersion != obj.(*coordinationv1.Lease).ResourceVersion {
			return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), l.Name, errors.New("the object has been modified"))
		}
		l.ResourceVersion = strconv.FormatInt(leaseRV.Add(1), 10)
		return true, l, client.Tracker().Update(gvr, l, l.Namespace)
	})
	clk := testingclock.NewFakeClock(t0)
	cfg.Clock = clk
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(ctx, client, f.Core().V1().Nodes(), f.Coordination().V1().Leases(), f.Core().V1().Pods(), cfg)
	f.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		f.Shutdown()
	})
	for _, s := range c.synced {
		waitFor(t, "caches", func() bool { return s() })
	}
	waitFor(t, "informers watching", func() bool {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "watch" {
				n++
			}
		}
		return n >= 3
	})
	return &env{client: client, clock: clk, c: c, ctx: ctx}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func readyNode(name string, heartbeat time.Time) *v1.Node {
	hb := metav1.NewTime(heartbeat)
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: "posted by agent", LastHeartbeatTime: hb, LastTransitionTime: hb}
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{
			cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory"),
			cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure"),
			cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID"),
			cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady"),
		}},
	}
}

func lease(node string, renew time.Time) *coordinationv1.Lease {
	rt := metav1.NewMicroTime(renew)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: LeaseNamespace},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &node, RenewTime: &rt},
	}
}

// defaultTolerations are what the API server adds to every pod.
func defaultTolerations() []v1.Toleration {
	secs := int64(300)
	return []v1.Toleration{
		{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs},
		{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs},
	}
}

func runningPod(name, node string, tolerations []v1.Toleration) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       v1.PodSpec{NodeName: node, Tolerations: tolerations, Containers: []v1.Container{{Name: "c", Image: "x"}}},
		Status: v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{
			{Type: v1.PodReady, Status: v1.ConditionTrue, Reason: "", LastTransitionTime: metav1.NewTime(t0)},
		}},
	}
}

func (e *env) node(t *testing.T, name string) *v1.Node {
	t.Helper()
	n, err := e.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) pod(t *testing.T, name string) *v1.Pod {
	t.Helper()
	p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pass runs one monitor pass once the caches show the state written so far.
func (e *env) pass(t *testing.T) {
	t.Helper()
	e.settle(t)
	if err := e.c.monitor(e.ctx); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	e.settle(t)
}

// settle waits until the listers show what the API holds for nodes, leases
// and pods.
func (e *env) settle(t *testing.T) {
	t.Helper()
	waitFor(t, "caches to catch up", func() bool {
		ctx := context.Background()
		nodes, _ := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		for _, n := range nodes.Items {
			cn, err := e.c.nodes.Get(n.Name)
			if err != nil || cn.ResourceVersion != n.ResourceVersion || !equalNode(cn, &n) {
				return false
			}
		}
		pods, _ := e.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			cp, err := e.c.pods.Pods(p.Namespace).Get(p.Name)
			if err != nil || (cp.DeletionTimestamp == nil) != (p.DeletionTimestamp == nil) || podReady(cp) != podReady(&p) {
				return false
			}
		}
		leases, _ := e.client.CoordinationV1().Leases(LeaseNamespace).List(ctx, metav1.ListOptions{})
		for _, l := range leases.Items {
			cl, err := e.c.leases.Leases(LeaseNamespace).Get(l.Name)
			if err != nil || !leaseRenewTime(cl).Equal(leaseRenewTime(&l)) || cl.ResourceVersion != l.ResourceVersion {
				return false
			}
		}
		return true
	})
}

func equalNode(a, b *v1.Node) bool {
	if len(a.Spec.Taints) != len(b.Spec.Taints) || len(a.Status.Conditions) != len(b.Status.Conditions) {
		return false
	}
	for i := range a.Status.Conditions {
		if a.Status.Conditions[i].Status != b.Status.Conditions[i].Status || !a.Status.Conditions[i].LastHeartbeatTime.Equal(&b.Status.Conditions[i].LastHeartbeatTime) {
			return false
		}
	}
	return true
}

func podReady(p *v1.Pod) bool {
	i := podConditionIndex(p.Status.Conditions, v1.PodReady)
	return i >= 0 && p.Status.Conditions[i].Status == v1.ConditionTrue
}

func taintSet(n *v1.Node) map[string]bool {
	out := map[string]bool{}
	for _, t := range n.Spec.Taints {
		out[t.Key+":"+string(t.Effect)] = true
	}
	return out
}

// renewLease renews the node's lease as an agent does: the lease read,
// its renewTime set, written back conditionally (annotations kept).
func (e *env) renewLease(t *testing.T, node string) {
	t.Helper()
	ctx := context.Background()
	l, err := e.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt := metav1.NewMicroTime(e.clock.Now())
	l.Spec.RenewTime = &rt
	if _, err := e.client.CoordinationV1().Leases(LeaseNamespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) postStatus(t *testing.T, n *v1.Node) {
	t.Helper()
	cur := e.node(t, n.Name)
	cur.Status = n.Status
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// The seeds' node failure: the agent stops renewing its lease and posting
// status; after the grace period the node's conditions go Unknown, it is
// tainted unreachable, its pods become not ready, pods without a toleration
// are evicted at once, pods with the default 300 s toleration when it runs
// out (and stay Terminating), pods tolerating for ever stay. When the agent
// comes back the taints go.
func TestNodeFailureEvictionAndRecovery(t *testing.T) {
	forever := []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}}
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true},
		readyNode("n1", t0), lease("n1", t0),
		readyNode("n2", t0), lease("n2", t0),
		runningPod("kubia-0", "n1", defaultTolerations()),
		runningPod("bare", "n1", nil),
		runningPod("forever", "n1", forever),
		runningPod("kubia-1", "n2", defaultTolerations()),
	)
	e.pass(t)
	if ts := taintSet(e.node(t, "n1")); len(ts) != 0 {
		t.Fatalf("healthy node tainted: %v", ts)
	}

	// n2 keeps renewing its lease; n1 falls silent.
	e.clock.Step(30 * time.Second)
	e.renewLease(t, "n2")
	e.pass(t)
	e.clock.Step(11 * time.Second)
	e.renewLease(t, "n2")
	e.pass(t)

	n1 := e.node(t, "n1")
	for _, cond := range n1.Status.Conditions {
		if cond.Status != v1.ConditionUnknown || cond.Reason != ReasonNodeStatusUnknown || cond.Message != MessageNodeStatusUnknown {
			t.Errorf("n1 condition %s: %s %q %q", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
		if !cond.LastHeartbeatTime.Time.Equal(t0) {
			t.Errorf("n1 condition %s heartbeat changed to %v", cond.Type, cond.LastHeartbeatTime)
		}
	}
	want := map[string]bool{v1.TaintNodeUnreachable + ":NoSchedule": true, v1.TaintNodeUnreachable + ":NoExecute": true}
	if ts := taintSet(n1); len(ts) != 2 || !ts[v1.TaintNodeUnreachable+":NoSchedule"] || !ts[v1.TaintNodeUnreachable+":NoExecute"] {
		t.Errorf("n1 taints %v, want %v", ts, want)
	}
	for _, tn := range n1.Spec.Taints {
		if tn.TimeAdded == nil || !tn.TimeAdded.Time.Equal(e.clock.Now()) {
			t.Errorf("taint %s timeAdded %v", tn.ToString(), tn.TimeAdded)
		}
	}
	if n2 := e.node(t, "n2"); readyCondition(n2).Status != v1.ConditionTrue || len(n2.Spec.Taints) != 0 {
		t.Errorf("n2 (lease renewed) changed: %+v %v", readyCondition(n2), n2.Spec.Taints)
	}
	for _, name := range []string{"kubia-0", "forever"} {
		p := e.pod(t, name)
		if podReady(p) || p.DeletionTimestamp != nil {
			t.Errorf("%s: ready=%v deleting=%v; want not ready, not deleted", name, podReady(p), p.DeletionTimestamp)
		}
	}
	bare := e.pod(t, "bare")
	if bare.DeletionTimestamp == nil {
		t.Errorf("pod without tolerations not evicted")
	}
	if i := podConditionIndex(bare.Status.Conditions, v1.DisruptionTarget); i < 0 || bare.Status.Conditions[i].Reason != ReasonTaintEviction {
		t.Errorf("evicted pod conditions %+v", bare.Status.Conditions)
	}
	if bare.Status.Reason != ReasonNodeLost {
		t.Errorf("pod evicted from an unreachable node: reason %q, want NodeLost", bare.Status.Reason)
	}
	if p := e.pod(t, "forever"); p.Status.Reason != "" {
		t.Errorf("pod that stays got reason %q", p.Status.Reason)
	}
	if !podReady(e.pod(t, "kubia-1")) {
		t.Errorf("pod on the healthy node marked not ready")
	}

	// The toleration runs out 300 s after the taint.
	e.clock.Step(299 * time.Second)
	e.renewLease(t, "n2")
	e.pass(t)
	if e.pod(t, "kubia-0").DeletionTimestamp != nil {
		t.Fatalf("kubia-0 evicted before its toleration expired")
	}
	e.clock.Step(2 * time.Second)
	e.renewLease(t, "n2")
	e.pass(t)
	if p := e.pod(t, "kubia-0"); p.DeletionTimestamp == nil {
		t.Fatalf("kubia-0 not evicted after its toleration expired")
	} else if p.Status.Reason != ReasonNodeLost || p.Status.Message != "Node n1 which was running pod kubia-0 is unresponsive" {
		t.Errorf("evicted kubia-0: reason %q, message %q; want NodeLost and kube's message", p.Status.Reason, p.Status.Message)
	}
	if e.pod(t, "forever").DeletionTimestamp != nil {
		t.Errorf("pod tolerating the taint for ever was evicted")
	}
	// Another pass changes nothing: the pod stays Terminating (no second
	// delete, the pod identity is not touched).
	e.pass(t)
	if p := e.pod(t, "kubia-0"); p.DeletionTimestamp == nil {
		t.Fatalf("terminating pod vanished")
	}

	// The agent returns: lease renewed and Ready=True posted.
	e.clock.Step(10 * time.Second)
	e.renewLease(t, "n1")
	e.postStatus(t, readyNode("n1", e.clock.Now()))
	e.pass(t)
	n1 = e.node(t, "n1")
	if ts := taintSet(n1); len(ts) != 0 {
		t.Errorf("taints left after recovery: %v", ts)
	}
	if rc := readyCondition(n1); rc.Status != v1.ConditionTrue {
		t.Errorf("recovered node Ready=%s", rc.Status)
	}
}

// A lease renewal alone keeps a node healthy even when its status is old.
func TestLeaseAloneKeepsNodeHealthy(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionEnabled: true}, readyNode("n1", t0), lease("n1", t0))
	e.pass(t)
	for range 5 {
		e.clock.Step(30 * time.Second)
		e.renewLease(t, "n1")
		e.pass(t)
	}
	if rc := readyCondition(e.node(t, "n1")); rc.Status != v1.ConditionTrue {
		t.Errorf("node with a renewed lease went %s", rc.Status)
	}
}

// An agent reporting Ready=False gets the not-ready taints and its pods are
// marked not ready; without eviction enabled nothing is deleted.
func TestNotReadyNodeTaintsWithoutEviction(t *testing.T) {
	n := readyNode("n1", t0)
	n.Status.Conditions[3].Status = v1.ConditionFalse
	n.Status.Conditions[1].Status = v1.ConditionTrue // disk pressure
	n.Spec.Unschedulable = true
	n.Spec.Taints = []v1.Taint{
		{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule},
		{Key: v1.TaintNodeMemoryPressure, Effect: v1.TaintEffectNoExecute}, // a user's, not a managed one
	}
	e := newEnv(t, Config{}, n, lease("n1", t0), runningPod("bare", "n1", nil))
	e.pass(t)
	got := taintSet(e.node(t, "n1"))
	for _, k := range []string{
		v1.TaintNodeNotReady + ":NoSchedule", v1.TaintNodeNotReady + ":NoExecute",
		v1.TaintNodeDiskPressure + ":NoSchedule", v1.TaintNodeUnschedulable + ":NoSchedule", "dedicated:NoSchedule",
		v1.TaintNodeMemoryPressure + ":NoExecute",
	} {
		if !got[k] {
			t.Errorf("missing taint %s in %v", k, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("taints %v", got)
	}
	p := e.pod(t, "bare")
	if podReady(p) || p.DeletionTimestamp != nil {
		t.Errorf("pod: ready=%v deleting=%v; want not ready and not deleted (eviction off)", podReady(p), p.DeletionTimestamp)
	}
	// Ready again: the managed taints go, the user's taint stays.
	n = e.node(t, "n1")
	n.Status.Conditions[3].Status = v1.ConditionTrue
	n.Status.Conditions[1].Status = v1.ConditionFalse
	e.postStatus(t, n)
	e.pass(t)
	if got := taintSet(e.node(t, "n1")); len(got) != 3 || !got["dedicated:NoSchedule"] || !got[v1.TaintNodeUnschedulable+":NoSchedule"] || !got[v1.TaintNodeMemoryPressure+":NoExecute"] {
		t.Errorf("taints after recovery %v", got)
	}
}

// A node that never posted status gets Unknown conditions with
// NodeStatusNeverUpdated after the startup grace period.
func TestNodeNeverPostedStatus(t *testing.T) {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "silent"}}
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, StartupGracePeriod: 60 * time.Second}, n)
	e.pass(t)
	e.clock.Step(50 * time.Second)
	e.pass(t)
	if len(e.node(t, "silent").Status.Conditions) != 0 {
		t.Fatalf("conditions set before the startup grace period ended")
	}
	e.clock.Step(11 * time.Second)
	e.pass(t)
	got := e.node(t, "silent")
	if len(got.Status.Conditions) != 4 {
		t.Fatalf("conditions %+v", got.Status.Conditions)
	}
	for _, c := range got.Status.Conditions {
		if c.Status != v1.ConditionUnknown || c.Reason != ReasonNodeStatusNeverUpdated || c.Message != MessageNeverUpdated {
			t.Errorf("condition %+v", c)
		}
	}
	if ts := taintSet(got); !ts[v1.TaintNodeUnreachable+":NoExecute"] {
		t.Errorf("taints %v", ts)
	}
}

// Run drives the monitor from the injected clock's ticker.
func TestRunMarksSilentNode(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, MonitorPeriod: 5 * time.Second}, readyNode("n1", t0), lease("n1", t0))
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(e.ctx)
	go func() {
		defer close(done)
		if err := e.c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-e.c.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("controller never became ready")
	}
	waitFor(t, "node Unknown", func() bool {
		if e.clock.HasWaiters() {
			e.clock.Step(5 * time.Second)
		}
		n := e.node(t, "n1")
		rc := readyCondition(n)
		return rc.Status == v1.ConditionUnknown && len(n.Spec.Taints) == 2
	})
}

// A NoExecute taint without timeAdded (a user's) counts from when the
// controller first saw the pod under it.
func TestUserNoExecuteTaintWithoutTime(t *testing.T) {
	n := readyNode("n1", t0)
	n.Spec.Taints = []v1.Taint{{Key: "maintenance", Effect: v1.TaintEffectNoExecute}}
	secs := int64(60)
	tol := append(defaultTolerations(), v1.Toleration{Key: "maintenance", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs})
	e := newEnv(t, Config{EvictionEnabled: true}, n, lease("n1", t0), runningPod("tolerant", "n1", tol), runningPod("bare", "n1", nil))
	e.pass(t)
	if p := e.pod(t, "bare"); p.DeletionTimestamp == nil {
		t.Errorf("pod not tolerating the taint was not evicted")
	} else if p.Status.Reason != "" {
		t.Errorf("pod evicted by a user's taint from a Ready node: reason %q, want none (not NodeLost)", p.Status.Reason)
	}
	for _, step := range []time.Duration{30 * time.Second, 29 * time.Second} {
		e.clock.Step(step)
		e.renewLease(t, "n1")
		e.pass(t)
		if e.pod(t, "tolerant").DeletionTimestamp != nil {
			t.Fatalf("evicted before its 60 s toleration ran out")
		}
	}
	e.clock.Step(2 * time.Second)
	e.renewLease(t, "n1")
	e.pass(t)
	if e.pod(t, "tolerant").DeletionTimestamp == nil {
		t.Errorf("not evicted after its toleration ran out")
	}
	if got := taintSet(e.node(t, "n1")); len(got) != 1 || !got["maintenance:NoExecute"] {
		t.Errorf("user taint changed: %v", got)
	}
}
