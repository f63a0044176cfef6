package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"petset/internal/controller/lostvolume"
	"petset/internal/controlplane"
)

// addNode creates a Ready node that can hold pods and petset's local
// volumes, with its lease; with alive its lease is renewed until the test
// ends, otherwise never (the node lifecycle controller of lostNodeCluster
// then turns it Ready=Unknown within seconds).
func addNode(t *testing.T, c *cluster, name string, alive bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{corev1.LabelHostname: name},
		Annotations: map[string]string{"petset.io/volume-dir": "/var/lib/petset-test/" + name + "/volumes"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	n.Status.Capacity = n.Status.Allocatable
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	leases := c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	renew, secs := metav1.NewMicroTime(time.Now()), int32(40)
	lease, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &secs, RenewTime: &renew},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !alive {
		cancel()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
			if l, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err == nil {
				lease = l
			} else if l, err := leases.Get(ctx, name, metav1.GetOptions{}); err == nil {
				lease = l
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitNodeReady waits for a node's Ready condition to have status.
func waitNodeReady(t *testing.T, c *cluster, name string, status corev1.ConditionStatus) {
	t.Helper()
	eventually(t, fmt.Sprintf("node %s Ready=%s", name, status), func() (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == status, fmt.Errorf("Ready=%s", cond.Status)
			}
		}
		return false, nil
	})
}

// lostVolumeSet makes the seeds' situation after a forced delete: node
// lost-a is lost (Ready=Unknown), live-b is alive, and set db's claim
// data-db-0 is bound to a local volume on lost-a. It returns the claim.
func lostVolumeSet(t *testing.T, c *cluster, annotations map[string]string) *corev1.PersistentVolumeClaim {
	t.Helper()
	ctx := context.Background()
	addNode(t, c, "lost-a", false)
	addNode(t, c, "live-b", true)
	waitNodeReady(t, c, "lost-a", corev1.ConditionUnknown)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-on-a"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "standard",
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/var/lib/petset-test/lost-a/volumes/pv-on-a"}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data-db-0"},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"lost-a"}}},
			}}}},
		},
	}
	if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To("standard"), VolumeName: "pv-on-a",
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
		},
	}
	if _, err := c.client.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var bound *corev1.PersistentVolumeClaim
	eventually(t, "data-db-0 bound to pv-on-a", func() (bool, error) {
		var err error
		bound, err = c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-db-0", metav1.GetOptions{})
		return err == nil && bound.Status.Phase == corev1.ClaimBound, err
	})
	set := webSet("db", 1, appsv1.OrderedReadyPodManagement)
	set.Annotations = annotations
	set.Spec.VolumeClaimTemplates[0].Name = "data"
	set.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr.To("standard")
	set.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "data"
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return bound
}

// waitEvent waits for an event on the object named name with reason whose
// message contains every one of want, and returns its message.
func waitEvent(t *testing.T, c *cluster, name, reason string, want ...string) string {
	t.Helper()
	var msg string
	eventually(t, fmt.Sprintf("event %s on %s", reason, name), func() (bool, error) {
		evs, err := c.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var seen []string
	next:
		for _, e := range evs.Items {
			if e.InvolvedObject.Name != name || e.Reason != reason {
				continue
			}
			seen = append(seen, e.Message)
			for _, w := range want {
				if !strings.Contains(e.Message, w) {
					continue next
				}
			}
			msg = e.Message
			return true, nil
		}
		return false, fmt.Errorf("events %s: %q", reason, seen)
	})
	return msg
}

// TestLostVolumeRecreate: with petset.io/lost-volume-policy: Recreate, a
// pod Pending only because its claim's volume is on a lost node gets a new
// claim and starts over on the live node; the set's event says the data
// was left behind.
func TestLostVolumeRecreate(t *testing.T) {
	c := lostNodeCluster(t, controlplane.Config{})
	ctx := context.Background()
	old := lostVolumeSet(t, c, map[string]string{lostvolume.PolicyAnnotation: lostvolume.PolicyRecreate, lostvolume.AfterAnnotation: "1s"})

	waitEvent(t, c, "db", lostvolume.ReasonRecreated, "Claim data-db-0 of pod db-0 was bound to volume pv-on-a, pinned to node lost-a",
		"The data of pv-on-a was left behind on lost-a")
	eventually(t, "db-0 on live-b with a new claim bound to a new volume there", func() (bool, error) {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, "db-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		claim, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-db-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Spec.NodeName == "live-b" && claim.UID != old.UID && claim.Status.Phase == corev1.ClaimBound && claim.Spec.VolumeName != "pv-on-a",
			fmt.Errorf("db-0 on %q; claim %s %s on %q", p.Spec.NodeName, claim.UID, claim.Status.Phase, claim.Spec.VolumeName)
	})
	// The old volume is Released with its data (reclaim policy Retain).
	eventually(t, "pv-on-a Released", func() (bool, error) {
		pv, err := c.client.CoreV1().PersistentVolumes().Get(ctx, "pv-on-a", metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeReleased, err
	})
}

// TestLostVolumeWait: by default a pod whose claim's volume is on a lost
// node stays Pending; the scheduler says why in kube's words
// (PodScheduled=False and FailedScheduling) and petset's hint says what to
// do, in an event of its own.
func TestLostVolumeWait(t *testing.T) {
	c := lostNodeCluster(t, controlplane.Config{})
	lostVolumeSet(t, c, nil)

	want := "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) had volume node affinity conflict."
	eventually(t, "db-0 Pending, PodScheduled=False with kube's reason", func() (bool, error) {
		p, err := c.client.CoreV1().Pods("default").Get(context.Background(), "db-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled {
				return p.Status.Phase == corev1.PodPending && cond.Status == corev1.ConditionFalse &&
					cond.Reason == corev1.PodReasonUnschedulable && strings.HasPrefix(cond.Message, want), fmt.Errorf("%s: %s", cond.Reason, cond.Message)
			}
		}
		return false, fmt.Errorf("phase %s, no PodScheduled condition", p.Status.Phase)
	})
	waitEvent(t, c, "db-0", "FailedScheduling", want)
	waitEvent(t, c, "db-0", lostvolume.ReasonVolumeNodeLost,
		`persistentvolumeclaim "data-db-0" is bound to volume "pv-on-a", whose data is on node "lost-a" only, and node "lost-a" is NotReady (Ready=Unknown since`,
		"Bring the node back; or delete the claim and then the pod", "petset.io/lost-volume-policy=Recreate")
}
