package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"petset/internal/controller/nodelifecycle"
	"petset/internal/controlplane"
	"petset/internal/fencing"
	"petset/internal/registry"
)

// lostNodeCluster runs a control plane whose node lifecycle controller
// declares a node lost 2 s after its last lease renewal.
func lostNodeCluster(t *testing.T, cfg controlplane.Config) *cluster {
	t.Helper()
	cfg.NodeLifecycle = nodelifecycle.Config{GracePeriod: 2 * time.Second, StartupGracePeriod: 2 * time.Second, MonitorPeriod: 200 * time.Millisecond}
	return startClusterWith(t, cfg)
}

// registerNode creates a Ready node with annotations and its lease, as an
// agent does, and then never renews either.
func registerNode(t *testing.T, c *cluster, name string, annotations map[string]string) {
	t.Helper()
	ctx := context.Background()
	n, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	renew, secs := metav1.NewMicroTime(time.Now()), int32(40)
	_, err = c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &secs, RenewTime: &renew},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// podStatusCell returns the STATUS column of the server's table for a pod,
// as kubectl get pods prints it.
func podStatusCell(t *testing.T, c *cluster, name string) string {
	t.Helper()
	body, err := c.client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name(name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	for i, col := range table.ColumnDefinitions {
		if col.Name == "Status" && len(table.Rows) == 1 {
			s, _ := table.Rows[0].Cells[i].(string)
			return s
		}
	}
	t.Fatalf("no Status cell in %s", body)
	return ""
}

// The seeds' lost node, with the default unreachable toleration shortened
// to 0 s by the API server's flag: once the node's lease lapses, its pod
// is evicted with reason NodeLost and kube ≤1.8's message, stays
// Terminating (no agent answers) and the table shows STATUS Unknown.
func TestLostNodePodIsNodeLostAndUnknown(t *testing.T) {
	zero := int64(0)
	c := lostNodeCluster(t, controlplane.Config{Tolerations: registry.Tolerations{UnreachableSeconds: &zero}})
	ctx := context.Background()
	registerNode(t, c, "lost", nil)
	pod, err := c.client.CoreV1().Pods("default").Create(ctx, gcPod("kubia-0", "lost"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range pod.Spec.Tolerations {
		if tl.Key == corev1.TaintNodeUnreachable && (tl.TolerationSeconds == nil || *tl.TolerationSeconds != 0) {
			t.Errorf("default unreachable toleration %+v, want 0 s from the flag", tl)
		}
	}
	setPodStatus(t, c, "kubia-0", func(s *corev1.PodStatus) { s.Phase = corev1.PodRunning })

	var got *corev1.Pod
	eventually(t, "kubia-0 evicted", func() (bool, error) {
		got, err = c.client.CoreV1().Pods("default").Get(ctx, "kubia-0", metav1.GetOptions{})
		return err == nil && got.DeletionTimestamp != nil, err
	})
	if got.Status.Reason != "NodeLost" || got.Status.Message != "Node lost which was running pod kubia-0 is unresponsive" {
		t.Errorf("evicted pod: reason %q, message %q", got.Status.Reason, got.Status.Message)
	}
	if s := podStatusCell(t, c, "kubia-0"); s != "Unknown" {
		t.Errorf("kubectl get pods STATUS %q, want Unknown", s)
	}
}

// Automatic failover on a real API server: a lost node that announces a
// 1 s fence gets the fenced-at mark on its Lease (a conditional update the
// server accepts at the resourceVersion the controller saw), then its pod
// that opted in is force-deleted with a NodeFenced event and the mark is
// removed; its pod that did not opt in stays.
func TestAutoFailoverOfLostFencedNode(t *testing.T) {
	c := lostNodeCluster(t, controlplane.Config{})
	ctx := context.Background()
	registerNode(t, c, "fenced", map[string]string{fencing.FenceTimeoutAnnotation: "1s"})
	db := gcPod("db-0", "fenced")
	db.Annotations = map[string]string{fencing.FailoverAnnotation: fencing.FailoverAuto}
	created, err := c.client.CoreV1().Pods("default").Create(ctx, db, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().Pods("default").Create(ctx, gcPod("web-0", "fenced"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leases := c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	eventually(t, "the lost node's lease marked", func() (bool, error) {
		l, err := leases.Get(ctx, "fenced", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, ok := l.Annotations[fencing.FencedAtAnnotation]
		return ok, nil
	})
	if _, err := c.client.CoreV1().Pods("default").Get(ctx, "db-0", metav1.GetOptions{}); err != nil {
		t.Fatalf("db-0 gone as soon as the lease was marked: %v", err)
	}
	eventually(t, "db-0 deleted", func() (bool, error) {
		_, err := c.client.CoreV1().Pods("default").Get(ctx, "db-0", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	eventually(t, "the mark removed", func() (bool, error) {
		l, err := leases.Get(ctx, "fenced", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, ok := l.Annotations[fencing.FencedAtAnnotation]
		return !ok, nil
	})
	evs, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=db-0,reason=" + fencing.ReasonNodeFenced})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 || evs.Items[0].Type != corev1.EventTypeWarning || evs.Items[0].InvolvedObject.UID != created.UID {
		t.Errorf("NodeFenced events on db-0: %+v", evs.Items)
	}
	web, err := c.client.CoreV1().Pods("default").Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil || web.DeletionTimestamp != nil {
		t.Errorf("web-0, which did not opt in: %v, deleting=%v", err, web.GetDeletionTimestamp())
	}
}

// The StatefulSet controller on a real API server: a set annotated
// petset.io/failover=auto gets its pods annotated at creation, the
// annotation's removal from the set removes it from the pods (a merge
// patch with null), and adding it back puts it on them again.
func TestStatefulSetFailoverAnnotationOnRealServer(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	sts := statefulSet("kubia", 2)
	sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement // no node runs them
	sts.Annotations = map[string]string{fencing.FailoverAnnotation: fencing.FailoverAuto}
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	optedIn := func(want bool) func() (bool, error) {
		return func() (bool, error) {
			pods := podsOf(t, c, "kubia")
			if len(pods) != 2 {
				return false, fmt.Errorf("%d pods", len(pods))
			}
			for _, p := range pods {
				if fencing.AutoFailover(&p) != want {
					return false, fmt.Errorf("%s annotations %v", p.Name, p.Annotations)
				}
			}
			return true, nil
		}
	}
	eventually(t, "both pods created opted in", optedIn(true))
	uids := map[string]bool{}
	for _, p := range podsOf(t, c, "kubia") {
		uids[string(p.UID)] = true
	}
	updateSet(t, c, "kubia", func(s *appsv1.StatefulSet) { delete(s.Annotations, fencing.FailoverAnnotation) })
	eventually(t, "the opt-in removed from both pods", optedIn(false))
	updateSet(t, c, "kubia", func(s *appsv1.StatefulSet) {
		s.Annotations = map[string]string{fencing.FailoverAnnotation: fencing.FailoverAuto}
	})
	eventually(t, "the opt-in back on both pods", optedIn(true))
	for _, p := range podsOf(t, c, "kubia") {
		if !uids[string(p.UID)] {
			t.Errorf("pod %s replaced (uid %s) by an annotation change", p.Name, p.UID)
		}
	}
}
