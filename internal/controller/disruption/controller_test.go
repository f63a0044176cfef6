package disruption

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestReconcile: the status a reconcile writes, from the StatefulSet's
// scale; a pod of a missing controller writes the fail-safe status.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	set := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: setUID}, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(3))}}
	pdb := budget(nil, int32p(1))
	objs := []runtime.Object{set, pdb, pod("web-0", true, true), pod("web-1", true, true), pod("web-2", true, true)}
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Policy().V1().PodDisruptionBudgets(), f.Core().V1().Pods(), f.Apps().V1(),
		record.NewFakeRecorder(100), clocktesting.NewFakePassiveClock(now), 1)
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *appsv1.StatefulSet:
			err = f.Apps().V1().StatefulSets().Informer().GetStore().Add(o)
		case *policyv1.PodDisruptionBudget:
			err = f.Policy().V1().PodDisruptionBudgets().Informer().GetStore().Add(o)
		default:
			err = f.Core().V1().Pods().Informer().GetStore().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.reconcile(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	got, err := client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Status; s.ExpectedPods != 3 || s.DesiredHealthy != 2 || s.CurrentHealthy != 3 || s.DisruptionsAllowed != 1 || s.ObservedGeneration != 2 ||
		!apimeta.IsStatusConditionTrue(s.Conditions, policyv1.DisruptionAllowedCondition) {
		t.Errorf("status %+v", s)
	}

	// The set is gone from the cache: its pods have no controller to scale.
	if err := f.Apps().V1().StatefulSets().Informer().GetStore().Delete(set); err != nil {
		t.Fatal(err)
	}
	if _, err := c.reconcile(ctx, "default/web"); err != nil {
		t.Fatalf("fail-safe write: %v", err)
	}
	got, err = client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cond := apimeta.FindStatusCondition(got.Status.Conditions, policyv1.DisruptionAllowedCondition)
	if got.Status.DisruptionsAllowed != 0 || cond == nil || cond.Reason != policyv1.SyncFailedReason || cond.Message != `found no controllers for pod "web-0"` &&
		cond.Message != `found no controllers for pod "web-1"` && cond.Message != `found no controllers for pod "web-2"` {
		t.Errorf("fail-safe status %+v", got.Status)
	}
}

// TestScaleOfReplicaSetsAndDeployments: a pod of a Deployment's
// ReplicaSet counts the Deployment's scale under its UID (once for all its
// ReplicaSets); a lone ReplicaSet counts its own; a stale UID is no
// controller.
func TestScaleOfReplicaSetsAndDeployments(t *testing.T) {
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Policy().V1().PodDisruptionBudgets(), f.Core().V1().Pods(), f.Apps().V1(), record.NewFakeRecorder(10), nil, 1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "d-uid"}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(4))}}
	owned := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default", UID: "rs1",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "d-uid", Controller: ptr(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(1))}}
	lone := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "lone", Namespace: "default", UID: "rs2"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(2))}}
	for _, err := range []error{f.Apps().V1().Deployments().Informer().GetStore().Add(d),
		f.Apps().V1().ReplicaSets().Informer().GetStore().Add(owned), f.Apps().V1().ReplicaSets().Informer().GetStore().Add(lone)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ref      metav1.OwnerReference
		uid      string
		replicas int32
		found    bool
	}{
		{metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", UID: "rs1"}, "d-uid", 4, true},
		{metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "lone", UID: "rs2"}, "rs2", 2, true},
		{metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "lone", UID: "old"}, "", 0, false},
		{metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: "x", UID: "j"}, "", 0, false},
	} {
		uid, n, found, err := c.scale("default", &tc.ref)
		if err != nil || string(uid) != tc.uid || n != tc.replicas || found != tc.found {
			t.Errorf("scale(%s/%s %s) = %s %d %v %v, want %s %d %v", tc.ref.Kind, tc.ref.Name, tc.ref.UID, uid, n, found, err, tc.uid, tc.replicas, tc.found)
		}
	}
}
