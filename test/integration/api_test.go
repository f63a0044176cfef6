package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"petset/internal/controlplane"
)

func configMap(name string, data string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": data}}
}

func TestCreateUpdateConflicts(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	cms := c.client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, configMap("a", "1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, configMap("a", "2"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}
	fresh := cm.DeepCopy()
	fresh.Data["k"] = "2"
	if _, err := cms.Update(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale := cm.DeepCopy() // carries the first resourceVersion
	stale.Data["k"] = "3"
	_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want 409 Conflict, got %v", err)
	}
	got, err := cms.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["k"] != "2" {
		t.Fatalf("stored value after the conflict = %q, want 2", got.Data["k"])
	}
	// A delete with a wrong UID precondition is refused too.
	wrong := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("nope"))}}
	if err := cms.Delete(ctx, "a", wrong); !apierrors.IsConflict(err) {
		t.Fatalf("delete with wrong uid: want Conflict, got %v", err)
	}
}

func TestWatchFromResourceVersion(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	cms := c.client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, configMap("w", "0"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		cm, err := cms.Get(ctx, "w", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["k"] = fmt.Sprint(i)
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Only "w": the root CA publisher may add kube-root-ca.crt meanwhile.
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, FieldSelector: "metadata.name=w"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var got []string
	for ev := range w.ResultChan() {
		cm := ev.Object.(*corev1.ConfigMap)
		got = append(got, fmt.Sprintf("%s:%s", ev.Type, cm.Data["k"]))
		if ev.Type == watch.Deleted {
			break
		}
	}
	want := []string{"MODIFIED:1", "MODIFIED:2", "MODIFIED:3", "DELETED:3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events from rv %s = %v, want %v", first.ResourceVersion, got, want)
	}
}

func TestPaginatedListAndCompactedHistory(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	cms := c.client.CoreV1().ConfigMaps("default")
	// The namespace's own kube-root-ca.crt is the eighth ConfigMap.
	eventually(t, "kube-root-ca.crt in default", func() (bool, error) {
		_, err := cms.Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, err
	})
	for i := 0; i < 7; i++ {
		if _, err := cms.Create(ctx, configMap(fmt.Sprintf("p%d", i), "x"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 3}
	pages := 0
	var firstContinue string
	for {
		l, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, cm := range l.Items {
			names = append(names, cm.Name)
		}
		if pages == 1 {
			firstContinue = l.Continue
			if l.RemainingItemCount == nil || *l.RemainingItemCount != 5 {
				t.Errorf("remainingItemCount on page 1 = %v, want 5", l.RemainingItemCount)
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if pages != 3 || len(names) != 8 {
		t.Fatalf("got %d pages with %v, want 3 pages and 8 names", pages, names)
	}

	if firstContinue == "" {
		t.Fatal("first page had no continue token")
	}
}

// TestCompactedHistoryIsGone runs without the watch cache (as
// kube-apiserver --watch-cache=false), so reads go to etcd: after a
// compaction, continuing an old list and watching from an old
// resourceVersion both answer 410 Expired, and an informer relists.
func TestCompactedHistoryIsGone(t *testing.T) {
	c := startClusterWith(t, controlplane.Config{DisableWatchCache: true})
	ctx := context.Background()
	cms := c.client.CoreV1().ConfigMaps("default")
	var first *corev1.ConfigMap
	for i := 0; i < 4; i++ {
		cm, err := cms.Create(ctx, configMap(fmt.Sprintf("g%d", i), "x"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = cm
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, configMap("after", "x"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	compactAll(t, c)

	_, err = cms.List(ctx, metav1.ListOptions{Limit: 2, Continue: page.Continue})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("continue after compaction: want 410 Expired, got %v", err)
	}
	// Only "w": the root CA publisher may add kube-root-ca.crt meanwhile.
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, FieldSelector: "metadata.name=w"})
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("watch from compacted rv: want 410, got %v", err)
		}
	} else {
		// Bounded, so that a watch that never answers fails here instead of
		// hanging the package (seen once in CI under load, 2026-12-05).
		var ev watch.Event
		select {
		case ev = <-w.ResultChan():
		case <-time.After(time.Minute):
			w.Stop()
			t.Fatalf("watch from compacted rv %s: no event within a minute, want an ERROR event with code 410", first.ResourceVersion)
		}
		w.Stop()
		status, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || status.Code != 410 {
			t.Fatalf("watch from compacted rv %s: want an ERROR event with code 410, got %s %#v", first.ResourceVersion, ev.Type, ev.Object)
		}
	}
}

// compactAll compacts the cluster's etcd at its current revision.
func compactAll(t *testing.T, c *cluster) {
	t.Helper()
	cli := etcdClient(t, c.cp.EtcdEndpoints(), c.cp.EtcdTLS())
	resp, err := cli.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(context.Background(), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Get(context.Background(), "/", clientv3.WithRev(2)); err == nil {
		t.Fatalf("etcd still serves revision 2 after compacting at %d", resp.Header.Revision)
	} else {
		t.Logf("compacted at %d: %v", resp.Header.Revision, err)
	}
}

func statefulSet(name string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "luksa/kubia-pet", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

func TestStatusSubresourceAndGeneration(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	sets := c.client.AppsV1().StatefulSets("default")
	// No replicas: only the set itself and its status are in play.
	sts, err := sets.Create(ctx, statefulSet("gen", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sts.Generation != 1 {
		t.Fatalf("generation after create = %d, want 1", sts.Generation)
	}
	if sts.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || sts.Spec.RevisionHistoryLimit == nil || *sts.Spec.RevisionHistoryLimit != 10 {
		t.Fatalf("defaults not applied: %+v", sts.Spec)
	}

	// The controller writes this set's status too, so every write below
	// re-reads the set and retries on a conflict.
	write := func(mutate func(*appsv1.StatefulSet), status bool) *appsv1.StatefulSet {
		t.Helper()
		var out *appsv1.StatefulSet
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := sets.Get(ctx, "gen", metav1.GetOptions{})
			if err != nil {
				return err
			}
			mutate(cur)
			if status {
				out, err = sets.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			} else {
				out, err = sets.Update(ctx, cur, metav1.UpdateOptions{})
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// The main resource ignores status and bumps generation on a spec change.
	upd := write(func(s *appsv1.StatefulSet) {
		s.Status.CollisionCount = ptr.To[int32](7)
		s.Spec.MinReadySeconds = 5
	}, false)
	if upd.Generation != 2 {
		t.Fatalf("generation after a spec change = %d, want 2", upd.Generation)
	}
	if upd.Status.CollisionCount != nil && *upd.Status.CollisionCount == 7 {
		t.Fatal("status change through the main resource was stored")
	}

	// /status ignores spec and does not bump generation.
	st := write(func(s *appsv1.StatefulSet) {
		s.Spec.MinReadySeconds = 99
		s.Status.ObservedGeneration = 2
		s.Status.CollisionCount = ptr.To[int32](3)
	}, true)
	if st.Spec.MinReadySeconds != 5 || st.Generation != 2 || st.Status.CollisionCount == nil || *st.Status.CollisionCount != 3 {
		t.Fatalf("after /status: minReadySeconds=%d generation=%d collisionCount=%v; want 5, 2, 3", st.Spec.MinReadySeconds, st.Generation, st.Status.CollisionCount)
	}
	// Metadata-only changes do not bump generation.
	again := write(func(s *appsv1.StatefulSet) { s.Labels = map[string]string{"x": "y"} }, false)
	if again.Generation != 2 {
		t.Fatalf("generation after a label change = %d, want 2", again.Generation)
	}
}

func TestRestartKeepsObjects(t *testing.T) {
	dir := t.TempDir()
	c := startCluster(t, dir)
	ctx := context.Background()
	want := map[string]string{}
	for i := 0; i < 5; i++ {
		cm, err := c.client.CoreV1().ConfigMaps("default").Create(ctx, configMap(fmt.Sprintf("r%d", i), "v"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[cm.Name] = string(cm.UID) + "/" + cm.ResourceVersion
	}
	sts, err := c.client.AppsV1().StatefulSets("default").Create(ctx, statefulSet("keep", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.stop()

	c2 := startCluster(t, dir)
	l, err := c2.client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, cm := range l.Items {
		if cm.Name[0] == 'r' {
			got[cm.Name] = string(cm.UID) + "/" + cm.ResourceVersion
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
	s2, err := c2.client.AppsV1().StatefulSets("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s2.UID != sts.UID {
		t.Fatalf("statefulset uid changed across restart: %s → %s", sts.UID, s2.UID)
	}
}

func TestCreateInMissingNamespace(t *testing.T) {
	c := startCluster(t, "")
	_, err := c.client.CoreV1().ConfigMaps("nope").Create(context.Background(), configMap("x", "y"), metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `namespaces "nope" not found` {
		t.Fatalf("create in a missing namespace: want NotFound namespaces \"nope\", got %v", err)
	}
	if _, err := c.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().ConfigMaps("nope").Create(context.Background(), configMap("x", "y"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create right after the namespace: %v", err)
	}
}

func TestNamespaceDeletion(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	nss := c.client.CoreV1().Namespaces()
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().ConfigMaps("doomed").Create(ctx, configMap("c", "v"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.AppsV1().StatefulSets("doomed").Create(ctx, statefulSet("s", 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	budget := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "s"},
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "s"}}}}
	if _, err := c.client.PolicyV1().PodDisruptionBudgets("doomed").Create(ctx, budget, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"}}
	if _, err := c.client.NetworkingV1().NetworkPolicies("doomed").Create(ctx, deny, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace and its content gone", func() (bool, error) {
		_, err := nss.Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	// Its objects went with it: a namespace of the same name starts empty.
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// (but for the kube-root-ca.crt the root CA publisher gives every namespace).
	l, err := c.client.CoreV1().ConfigMaps("doomed").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name!=kube-root-ca.crt"})
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("recreated namespace holds %d config maps (%v)", len(l.Items), err)
	}
	if b, err := c.client.PolicyV1().PodDisruptionBudgets("doomed").List(ctx, metav1.ListOptions{}); err != nil || len(b.Items) != 0 {
		t.Fatalf("recreated namespace holds %d disruption budgets (%v)", len(b.Items), err)
	}
	if p, err := c.client.NetworkingV1().NetworkPolicies("doomed").List(ctx, metav1.ListOptions{}); err != nil || len(p.Items) != 0 {
		t.Fatalf("recreated namespace holds %d network policies (%v)", len(p.Items), err)
	}
	if err := nss.Delete(ctx, "default", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("deleting default: want Forbidden, got %v", err)
	}
}
