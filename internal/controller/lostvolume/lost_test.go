package lostvolume

import (
	"context"
	"strings"
	"testing"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"petset/internal/controller/runner"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func node(name string, status v1.ConditionStatus, since time.Time) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{{
			Type: v1.NodeReady, Status: status, LastTransitionTime: metav1.NewTime(since),
		}}},
	}
}

func TestNodeLost(t *testing.T) {
	for _, c := range []struct {
		name       string
		node       *v1.Node
		down, lost bool
		wait       time.Duration
		why        string
	}{
		{"gone", nil, true, true, 0, `node "a" no longer exists`},
		{"ready", node("a", v1.ConditionTrue, t0.Add(-time.Hour)), false, false, 0, ""},
		{"unknown for a minute", node("a", v1.ConditionUnknown, t0.Add(-time.Minute)), true, false, 4 * time.Minute,
			`node "a" is NotReady (Ready=Unknown since 2026-12-03T11:59:00Z)`},
		{"unknown for the bound", node("a", v1.ConditionUnknown, t0.Add(-5*time.Minute)), true, true, 0, "Ready=Unknown"},
		{"false for an hour", node("a", v1.ConditionFalse, t0.Add(-time.Hour)), true, true, 0, "Ready=False"},
	} {
		down, lost, wait, why := NodeLost("a", c.node, t0, DefaultAfter)
		if down != c.down || lost != c.lost || wait != c.wait || !strings.Contains(why, c.why) {
			t.Errorf("%s: NodeLost = %v %v %v %q, want %v %v %v ~%q", c.name, down, lost, wait, why, c.down, c.lost, c.wait, c.why)
		}
	}
}

func TestPolicyOf(t *testing.T) {
	for _, c := range []struct {
		ann      map[string]string
		recreate bool
		after    time.Duration
		bad      bool
	}{
		{nil, false, DefaultAfter, false},
		{map[string]string{PolicyAnnotation: "Wait"}, false, DefaultAfter, false},
		{map[string]string{PolicyAnnotation: "Recreate"}, true, DefaultAfter, false},
		{map[string]string{PolicyAnnotation: "Recreate", AfterAnnotation: "30s"}, true, 30 * time.Second, false},
		{map[string]string{PolicyAnnotation: "recreate"}, false, 0, true},
		{map[string]string{PolicyAnnotation: "Recreate", AfterAnnotation: "soon"}, false, 0, true},
		{map[string]string{AfterAnnotation: "-1s"}, false, 0, true},
	} {
		p, err := policyOf(&apps.StatefulSet{ObjectMeta: metav1.ObjectMeta{Annotations: c.ann}})
		if (err != nil) != c.bad || (!c.bad && (p.recreate != c.recreate || p.after != c.after)) {
			t.Errorf("policyOf(%v) = %+v, %v", c.ann, p, err)
		}
	}
}

// fixture is one set "db" with pod db-0, Pending and unschedulable, whose
// claim data-db-0 is bound to a volume pinned to node "a".
type fixture struct {
	c      *Controller
	client *fake.Clientset
	events *record.FakeRecorder
}

func newFixture(t *testing.T, policy string, nodeA *v1.Node, mutate ...func(*v1.Pod)) *fixture {
	t.Helper()
	set := &apps.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", UID: "set-uid", Annotations: map[string]string{PolicyAnnotation: policy}},
		Spec:       apps.StatefulSetSpec{VolumeClaimTemplates: []v1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}},
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "default", UID: "pod-uid",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "set-uid", Controller: ptrTrue()}}},
		Status: v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{{
			Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable,
		}}},
	}
	claim := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "default", UID: "claim-uid"},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: "pvc-claim-uid"},
		Status:     v1.PersistentVolumeClaimStatus{Phase: v1.ClaimBound},
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-claim-uid"},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimDelete,
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{"a"}}},
			}}}},
		},
	}
	for _, m := range mutate {
		m(pod)
	}
	objs := []runtime.Object{set, pod, claim, pv, node("b", v1.ConditionTrue, t0.Add(-time.Hour))}
	if nodeA != nil {
		objs = append(objs, nodeA)
	}
	idx := func(kind string) cache.Indexer {
		i := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		for _, o := range objs {
			if typeName(o) == kind {
				if err := i.Add(o); err != nil {
					t.Fatal(err)
				}
			}
		}
		return i
	}
	client := fake.NewClientset(objs...)
	events := record.NewFakeRecorder(10)
	c := &Controller{
		client: client, recorder: events, now: func() time.Time { return t0 },
		sets: appslisters.NewStatefulSetLister(idx("statefulset")), pods: corelisters.NewPodLister(idx("pod")),
		claims:  corelisters.NewPersistentVolumeClaimLister(idx("persistentvolumeclaim")),
		volumes: corelisters.NewPersistentVolumeLister(idx("persistentvolume")), nodes: corelisters.NewNodeLister(idx("node")),
	}
	return &fixture{c: c, client: client, events: events}
}

func typeName(o runtime.Object) string {
	switch o.(type) {
	case *apps.StatefulSet:
		return "statefulset"
	case *v1.Pod:
		return "pod"
	case *v1.PersistentVolumeClaim:
		return "persistentvolumeclaim"
	case *v1.PersistentVolume:
		return "persistentvolume"
	case *v1.Node:
		return "node"
	}
	return ""
}

func ptrTrue() *bool { b := true; return &b }

func (f *fixture) exists(t *testing.T) (claim, pod bool) {
	t.Helper()
	_, errC := f.client.CoreV1().PersistentVolumeClaims("default").Get(context.Background(), "data-db-0", metav1.GetOptions{})
	_, errP := f.client.CoreV1().Pods("default").Get(context.Background(), "db-0", metav1.GetOptions{})
	for _, err := range []error{errC, errP} {
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	return errC == nil, errP == nil
}

func TestReconcile(t *testing.T) {
	for _, c := range []struct {
		name    string
		policy  string
		nodeA   *v1.Node
		deleted bool
		result  runner.Result
		event   string
	}{
		{"wait keeps the claim", PolicyWait, node("a", v1.ConditionUnknown, t0.Add(-time.Hour)), false, runner.Done, ""},
		{"recreate, node ready", PolicyRecreate, node("a", v1.ConditionTrue, t0.Add(-time.Hour)), false, runner.Done, ""},
		{"recreate, node down for a minute", PolicyRecreate, node("a", v1.ConditionUnknown, t0.Add(-time.Minute)), false, runner.RequeueAfter(4 * time.Minute), ""},
		{"recreate, node down for the bound", PolicyRecreate, node("a", v1.ConditionUnknown, t0.Add(-5*time.Minute)), true, runner.Done,
			"Warning LostVolumeRecreated Claim data-db-0 of pod db-0 was bound to volume pvc-claim-uid, pinned to node a, and node \"a\" is NotReady (Ready=Unknown since 2026-12-03T11:55:00Z) (lost after 5m0s, policy Recreate): deleted the claim and the pod, so that db-0 starts on another node with a new, empty volume. The data of pvc-claim-uid was left behind on a (reclaim policy Delete; with Delete it is removed if that node's agent comes back)"},
		{"recreate, node deleted", PolicyRecreate, nil, true, runner.Done, `node "a" no longer exists`},
		{"bad policy", "Sometimes", nil, false, runner.Done, `Warning InvalidLostVolumePolicy petset.io/lost-volume-policy: "Sometimes" is neither Wait nor Recreate`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.policy, c.nodeA)
			res, err := f.c.reconcile(context.Background(), "default/db")
			if err != nil || res != c.result {
				t.Fatalf("reconcile = %v, %v; want %v", res, err, c.result)
			}
			claim, pod := f.exists(t)
			if claim == c.deleted || pod == c.deleted {
				t.Errorf("claim exists %v, pod exists %v; want deleted=%v", claim, pod, c.deleted)
			}
			var got string
			select {
			case got = <-f.events.Events:
			default:
			}
			if !strings.Contains(got, c.event) || (c.event == "") != (got == "") {
				t.Errorf("event %q, want ~%q", got, c.event)
			}
		})
	}
}

// A scheduled or running pod is never touched, whatever its volume's node.
func TestReconcileLeavesScheduledPods(t *testing.T) {
	f := newFixture(t, PolicyRecreate, nil, func(p *v1.Pod) {
		p.Spec.NodeName = "a"
		p.Status = v1.PodStatus{Phase: v1.PodRunning}
	})
	if res, err := f.c.reconcile(context.Background(), "default/db"); err != nil || res != runner.Done {
		t.Fatalf("reconcile = %v, %v", res, err)
	}
	if claim, pod := f.exists(t); !claim || !pod {
		t.Errorf("claim exists %v, pod exists %v; want both kept", claim, pod)
	}
}
