package statefulset

import (
	"strings"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// raw133 is the revision data upstream's compatibility test records for a
// set named "test" (the 1.33 serialization, with creationTimestamp: null).
const raw133 = `{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}`

// compatTemplate is the defaulted template behind raw133.
func compatTemplate() v1.PodTemplateSpec {
	grace := int64(30)
	return v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "foo"}, Annotations: map[string]string{"test": "value"}},
		Spec: v1.PodSpec{
			Containers: []v1.Container{{
				Name: "test", Image: "test", ImagePullPolicy: v1.PullAlways,
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: v1.TerminationMessageReadFile,
			}},
			DNSPolicy:                     v1.DNSClusterFirst,
			RestartPolicy:                 v1.RestartPolicyAlways,
			SchedulerName:                 v1.DefaultSchedulerName,
			SecurityContext:               &v1.PodSecurityContext{},
			TerminationGracePeriodSeconds: &grace,
		},
	}
}

func TestHashVector(t *testing.T) {
	zero := int32(0)
	if got := hashRevision([]byte(raw133), &zero); got != "c77f6d978" {
		t.Fatalf("hash of the 1.33 vector = %q, want c77f6d978", got)
	}
	if got := revisionName("test", hashRevision([]byte(raw133), &zero)); got != "test-c77f6d978" {
		t.Fatalf("revision name %q", got)
	}
	one := int32(1)
	if hashRevision([]byte(raw133), &one) == "c77f6d978" {
		t.Fatalf("collision count does not change the hash")
	}
	// Digits map onto the safe alphabet: 0→4 … 9→f.
	if got := safeEncode("0123456789"); got != "456789bcdf" {
		t.Fatalf("safeEncode digits = %q", got)
	}
	long := strings.Repeat("a", 300)
	if got := revisionName(long, "x"); len(got) != 223+2 {
		t.Fatalf("long revision name has length %d", len(got))
	}
}

func TestSerializationMatches137(t *testing.T) {
	set := &apps.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "test", Namespace: "default"}}
	set.Spec.Template = compatTemplate()
	raw, err := revisionPatch(set)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(raw133, `"creationTimestamp":null,`, "", 1)
	if string(raw) != want {
		t.Fatalf("serialization\n got %s\nwant %s", raw, want)
	}
	zero := int32(0)
	rev, err := newRevision(set, 1, &zero)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Labels[RevisionHashLabel] != hashRevision(raw, &zero) || rev.Name != "test-"+hashRevision(raw, &zero) || rev.Labels["app"] != "foo" {
		t.Fatalf("revision metadata %+v", rev.ObjectMeta)
	}
	back, err := applyRevision(set, rev)
	if err != nil {
		t.Fatal(err)
	}
	if back.Spec.Template.Spec.Containers[0].Image != "test" || back.Spec.Template.Annotations["test"] != "value" {
		t.Fatalf("template did not round-trip: %+v", back.Spec.Template)
	}
}

// TestRevisionFrom133CausesNoWrites: a set whose revision was recorded by
// 1.33 (with creationTimestamp: null) is in steady state; a sync writes
// nothing and creates no revision (semantic revision comparison).
func TestRevisionFrom133CausesNoWrites(t *testing.T) {
	h := newHarness(t)
	set := newSet("test", setOpts{replicas: 2, noClaims: true})
	set.Spec.Selector.MatchLabels = map[string]string{"app": "foo"}
	set.Spec.Template = compatTemplate()
	set = h.createSet(set)
	rev := &apps.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: "test-c77f6d978", Namespace: testNS,
			Labels:          map[string]string{"app": "foo", RevisionHashLabel: "c77f6d978"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, setKind)},
		},
		Data:     runtime.RawExtension{Raw: []byte(raw133)},
		Revision: 1,
	}
	if _, err := h.client.AppsV1().ControllerRevisions(testNS).Create(t.Context(), rev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		pod := newPod(set, "test-c77f6d978", i)
		created, err := h.client.CoreV1().Pods(testNS).Create(t.Context(), pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h.setReady(created)
	}
	stored := h.set("test").DeepCopy()
	zero := int32(0)
	stored.Status = apps.StatefulSetStatus{ObservedGeneration: 1, Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
		CurrentReplicas: 2, UpdatedReplicas: 2, CurrentRevision: "test-c77f6d978", UpdateRevision: "test-c77f6d978", CollisionCount: &zero}
	if _, err := h.client.AppsV1().StatefulSets(testNS).UpdateStatus(t.Context(), stored, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	writes := h.writeCount()
	for i := 0; i < 3; i++ {
		h.mustSync("test")
	}
	if got := h.writeCount(); got != writes {
		t.Fatalf("sync of a 1.33-era set made %d writes: %v", got-writes, h.writes)
	}
	if revs := h.revisions(); len(revs) != 1 || revs[0].Name != "test-c77f6d978" {
		t.Fatalf("revisions after sync: %d", len(revs))
	}
}

// TestRestartedControllerMakesNoWrites: objects this controller wrote, read
// back by a fresh controller, need no further writes.
func TestRestartedControllerMakesNoWrites(t *testing.T) {
	for _, o := range []setOpts{
		{replicas: 3},
		{replicas: 3, parallel: true, whenScaled: apps.DeletePersistentVolumeClaimRetentionPolicyType, whenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType},
		{replicas: 2, onDelete: true, start: 4, minReady: 5, whenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType},
		{replicas: 4, partition: 2},
	} {
		h := newHarness(t)
		h.createSet(newSet("web", o))
		w := &walker{t: t, h: h, r: newRand(1), name: "web", seed: 1, calm: true}
		w.converge("create")
		h.updateSet("web", setImage("nginx:2"))
		if o.onDelete {
			for _, p := range h.pods() {
				h.removePod(p.Name)
			}
		}
		w.converge("update")
		h.advance(time10m)
		h.mustSync("web")
		h.ctrl = h.newController()
		writes := h.writeCount()
		h.mustSync("web")
		h.mustSync("web")
		if got := h.writeCount(); got != writes {
			t.Fatalf("%+v: restarted controller made %d writes: %v", o, got-writes, h.writes)
		}
	}
}
