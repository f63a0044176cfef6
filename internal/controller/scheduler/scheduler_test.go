package scheduler

import (
	"context"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const preemptionOf3 = " preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."

// Each case schedules the pod "p" against three nodes (a, b, c) plus extra
// objects, and expects it either bound to one of want or unschedulable with
// exactly msg.
func TestFilters(t *testing.T) {
	storageClassWFFC := newClass("local", "kubernetes.io/no-provisioner", storagev1.VolumeBindingWaitForFirstConsumer)
	storageClassImmediate := newClass("fast", "petset.io/local", storagev1.VolumeBindingImmediate)
	boundClaim := newClaim("data", "local", "1Gi")
	boundClaim.Spec.VolumeName = "pv-c"
	boundClaim.Status.Phase = v1.ClaimBound
	boundPV := newLocalPV("pv-c", "local", "1Gi", "c")
	boundPV.Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "data", UID: boundClaim.UID}
	boundPV.Status.Phase = v1.VolumeBound

	cases := []struct {
		name  string
		nodes []*v1.Node
		pod   *v1.Pod
		extra []runtime.Object
		want  []string
		msg   string
	}{
		{
			name: "untolerated unreachable taint and insufficient cpu",
			nodes: []*v1.Node{
				newNode("a", withTaint("node.kubernetes.io/unreachable", "", v1.TaintEffectNoSchedule), withReady(v1.ConditionUnknown)),
				newNode("b", withAllocatable(v1.ResourceCPU, "1")),
				newNode("c", withAllocatable(v1.ResourceCPU, "1")),
			},
			pod: newPod("p", requests("cpu", "2")),
			msg: "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu." + preemptionOf3,
		},
		{
			name:  "not ready node without taint yet",
			nodes: []*v1.Node{newNode("a", withReady(v1.ConditionFalse)), newNode("b", withReady(v1.ConditionFalse)), newNode("c")},
			pod:   newPod("p"),
			want:  []string{"c"},
		},
		{
			name:  "cordoned nodes",
			nodes: []*v1.Node{newNode("a", unschedulableNode), newNode("b", unschedulableNode), newNode("c", unschedulableNode)},
			pod:   newPod("p"),
			msg:   "0/3 nodes are available: 3 node(s) were unschedulable." + preemptionOf3,
		},
		{
			name:  "nodeSelector",
			nodes: []*v1.Node{newNode("a"), newNode("b", withLabels("disk", "ssd")), newNode("c")},
			pod:   newPod("p", nodeSelector("disk", "ssd")),
			want:  []string{"b"},
		},
		{
			name:  "nodeSelector matching nothing",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", nodeSelector("disk", "ssd")),
			msg:   "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector." + preemptionOf3,
		},
		{
			name:  "required node affinity with expressions",
			nodes: []*v1.Node{newNode("a", withLabels("zone", "z1", "gen", "3")), newNode("b", withLabels("zone", "z2", "gen", "5")), newNode("c", withLabels("zone", "z2", "gen", "2"))},
			pod: newPod("p", affinity(&v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
					{Key: "zone", Operator: v1.NodeSelectorOpNotIn, Values: []string{"z1"}},
					{Key: "gen", Operator: v1.NodeSelectorOpGt, Values: []string{"3"}},
					{Key: "zone", Operator: v1.NodeSelectorOpExists},
				}}},
			}}})),
			want: []string{"b"},
		},
		{
			name:  "required node affinity with matchFields",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod: newPod("p", affinity(&v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{
					{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"c"}},
				}}},
			}}})),
			want: []string{"c"},
		},
		{
			name: "tolerated taint",
			nodes: []*v1.Node{
				newNode("a", withTaint("dedicated", "db", v1.TaintEffectNoSchedule)),
				newNode("b", withTaint("gpu", "yes", v1.TaintEffectNoExecute)),
				newNode("c", withTaint("other", "x", v1.TaintEffectNoSchedule)),
			},
			pod:  newPod("p", tolerate("gpu", v1.TaintEffectNoExecute)),
			want: []string{"b"},
		},
		{
			name:  "PreferNoSchedule only scores",
			nodes: []*v1.Node{newNode("a", withTaint("soft", "", v1.TaintEffectPreferNoSchedule)), newNode("b", withTaint("soft", "", v1.TaintEffectPreferNoSchedule)), newNode("c")},
			pod:   newPod("p"),
			want:  []string{"c"},
		},
		{
			name:  "memory, ephemeral storage and pod count",
			nodes: []*v1.Node{newNode("a", withAllocatable(v1.ResourceMemory, "1Gi")), newNode("b", withAllocatable(v1.ResourcePods, "1")), newNode("c", withAllocatable(v1.ResourceEphemeralStorage, "1Gi"))},
			pod:   newPod("p", requests("memory", "2Gi", "ephemeral-storage", "2Gi")),
			extra: []runtime.Object{newPod("running", onNode("b"))},
			msg:   "0/3 nodes are available: 1 Insufficient ephemeral-storage, 1 Insufficient memory, 1 Too many pods." + preemptionOf3,
		},
		{
			name:  "requests of pods already on the node count",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", requests("cpu", "3")),
			extra: []runtime.Object{newPod("x", onNode("a"), requests("cpu", "2")), newPod("y", onNode("c"), requests("cpu", "1500m"))},
			want:  []string{"b"},
		},
		{
			name:  "host port conflicts",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", hostPortOpt(8080)),
			extra: []runtime.Object{newPod("x", onNode("a"), hostPortOpt(8080)), newPod("y", onNode("c"), hostPortOpt(8080))},
			want:  []string{"b"},
		},
		{
			name:  "required pod affinity",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod: newPod("p", affinity(&v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "kubernetes.io/hostname",
			}}}})),
			extra: []runtime.Object{newPod("db", onNode("b"), podLabels("app", "db"))},
			want:  []string{"b"},
		},
		{
			name:  "required pod affinity by zone",
			nodes: []*v1.Node{newNode("a", withLabels("zone", "z1")), newNode("b", withLabels("zone", "z2")), newNode("c", withLabels("zone", "z2"))},
			pod: newPod("p", affinity(&v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "zone",
			}}}})),
			extra: []runtime.Object{newPod("db", onNode("c"), podLabels("app", "db"))},
			want:  []string{"b", "c"},
		},
		{
			name:  "required pod affinity with no matching pod",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod: newPod("p", affinity(&v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "kubernetes.io/hostname",
			}}}})),
			msg: "0/3 nodes are available: 3 node(s) didn't match pod affinity rules." + preemptionOf3,
		},
		{
			name:  "anti-affinity of existing pods",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", podLabels("app", "web")),
			extra: []runtime.Object{
				newPod("x", onNode("a"), antiAffinityHostname("app", "web")),
				newPod("y", onNode("b"), antiAffinityHostname("app", "web")),
			},
			want: []string{"c"},
		},
		{
			name:  "bound volume's node affinity",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", claimVolume("data")),
			extra: []runtime.Object{storageClassWFFC, boundClaim, boundPV},
			want:  []string{"c"},
		},
		{
			name:  "unbound immediate claim",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", claimVolume("fast-data")),
			extra: []runtime.Object{storageClassImmediate, newClaim("fast-data", "fast", "1Gi")},
			msg:   "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims." + preemptionOf3,
		},
		{
			name:  "missing claim",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", claimVolume("nope")),
			msg:   `0/3 nodes are available: persistentvolumeclaim "nope" not found.` + preemptionOf3,
		},
		{
			name:  "WaitForFirstConsumer claim without provisioner or volume",
			nodes: []*v1.Node{newNode("a"), newNode("b"), newNode("c")},
			pod:   newPod("p", claimVolume("local-data")),
			extra: []runtime.Object{storageClassWFFC, newClaim("local-data", "local", "1Gi")},
			msg:   "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind." + preemptionOf3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{tc.pod}
			for _, n := range tc.nodes {
				objs = append(objs, n)
			}
			objs = append(objs, tc.extra...)
			h := startScheduler(t, objs...)
			if tc.msg != "" {
				if got := h.waitUnschedulable("p"); got != tc.msg {
					t.Fatalf("message:\n got %q\nwant %q", got, tc.msg)
				}
				h.waitEvent("p", "FailedScheduling", tc.msg)
				if n := h.pod("p").Spec.NodeName; n != "" {
					t.Fatalf("unschedulable pod was bound to %s", n)
				}
				return
			}
			node := h.waitBound("p")
			if !slices.Contains(tc.want, node) {
				t.Fatalf("pod bound to %s, want one of %v", node, tc.want)
			}
			h.waitEvent("p", "Scheduled", "Successfully assigned default/p to "+node)
		})
	}
}

// Three replicas with required anti-affinity on the hostname land on three
// different nodes; a fourth cannot be placed.
func TestAntiAffinitySpreadsReplicas(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"node1", "node2", "node3"} {
		objs = append(objs, newNode(n))
	}
	for _, name := range []string{"web-0", "web-1", "web-2", "web-3"} {
		objs = append(objs, newPod(name, podLabels("app", "web"), antiAffinityHostname("app", "web"), ownedBy("StatefulSet", "web", "sts-uid")))
	}
	h := startScheduler(t, objs...)
	seen := map[string]string{}
	msg := h.waitUnschedulableAny([]string{"web-0", "web-1", "web-2", "web-3"})
	want := "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules." + preemptionOf3
	if msg != want {
		t.Fatalf("message of the fourth pod:\n got %q\nwant %q", msg, want)
	}
	bound := 0
	for _, name := range []string{"web-0", "web-1", "web-2", "web-3"} {
		if n := h.pod(name).Spec.NodeName; n != "" {
			if other, dup := seen[n]; dup {
				t.Fatalf("%s and %s both on %s", other, name, n)
			}
			seen[n] = name
			bound++
		}
	}
	if bound != 3 {
		t.Fatalf("%d pods bound, want 3 (one per node): %v", bound, seen)
	}
}

// waitUnschedulableAny waits until three of the pods are bound and the rest
// reports unschedulable, returning its message.
func (h *harness) waitUnschedulableAny(names []string) string {
	h.t.Helper()
	var msg string
	h.waitFor("3 pods bound and 1 unschedulable", func() (bool, error) {
		bound, unsched := 0, 0
		for _, n := range names {
			p := h.pod(n)
			if p.Spec.NodeName != "" {
				bound++
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
					unsched++
					msg = c.Message
				}
			}
		}
		return bound == 3 && unsched == 1, nil
	})
	return msg
}

// Pods of one owner spread over the nodes when nothing else differs.
func TestSpreadsPodsOfOneOwner(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"node1", "node2", "node3"} {
		objs = append(objs, newNode(n))
	}
	for _, name := range []string{"r-0", "r-1", "r-2"} {
		objs = append(objs, newPod(name, ownedBy("ReplicaSet", "r", "rs-uid")))
	}
	h := startScheduler(t, objs...)
	nodes := map[string]bool{}
	for _, name := range []string{"r-0", "r-1", "r-2"} {
		nodes[h.waitBound(name)] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("pods of one owner share nodes: %v", nodes)
	}
}

// An unschedulable pod is retried when the cluster changes, without polling.
func TestRetriesWhenNodeChanges(t *testing.T) {
	h := startScheduler(t,
		newNode("node1", withTaint("maintenance", "", v1.TaintEffectNoSchedule)),
		newPod("web-0"))
	want := "0/1 nodes are available: 1 node(s) had untolerated taint {maintenance: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	if got := h.waitUnschedulable("web-0"); got != want {
		t.Fatalf("message:\n got %q\nwant %q", got, want)
	}
	node, err := h.client.CoreV1().Nodes().Get(h.ctx, "node1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Taints = nil
	if _, err := h.client.CoreV1().Nodes().Update(context.Background(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitBound("web-0"); got != "node1" {
		t.Fatalf("bound to %s", got)
	}
}

func TestNoNodes(t *testing.T) {
	h := startScheduler(t, newPod("web-0"))
	if got := h.waitUnschedulable("web-0"); got != "no nodes available to schedule pods" {
		t.Fatalf("message %q", got)
	}
}

// Pods of other schedulers and pods already bound are left alone.
func TestIgnoresOtherPods(t *testing.T) {
	other := newPod("other")
	other.Spec.SchedulerName = "my-scheduler"
	h := startScheduler(t, newNode("node1"), other, newPod("mine"))
	h.waitBound("mine")
	if p := h.pod("other"); p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 {
		t.Fatalf("pod of another scheduler was touched: node %q conditions %v", p.Spec.NodeName, p.Status.Conditions)
	}
}

// A pod with scheduling gates waits, says so, and is scheduled once the
// gates are removed.
func TestSchedulingGates(t *testing.T) {
	gated := newPod("gated")
	gated.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/wait"}}
	h := startScheduler(t, newNode("node1"), gated)
	h.waitFor("SchedulingGated condition", func() (bool, error) {
		for _, c := range h.pod("gated").Status.Conditions {
			if c.Type == v1.PodScheduled && c.Reason == v1.PodReasonSchedulingGated &&
				c.Message == "Scheduling is blocked due to non-empty scheduling gates" {
				return true, nil
			}
		}
		return false, nil
	})
	p := h.pod("gated")
	p.Spec.SchedulingGates = nil
	if _, err := h.client.CoreV1().Pods("default").Update(h.ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitBound("gated"); got != "node1" {
		t.Fatalf("bound to %s", got)
	}
}

// Scores pick the node when every node fits.
func TestScores(t *testing.T) {
	preferSSD := affinity(&v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{
		Weight:     50,
		Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd"}}}},
	}}}})
	avoidCache := affinity(&v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{
		Weight: 100,
		PodAffinityTerm: v1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}, TopologyKey: "kubernetes.io/hostname",
		},
	}}}})
	nearDB := affinity(&v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{
		Weight: 100,
		PodAffinityTerm: v1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "kubernetes.io/hostname",
		},
	}}}})
	cases := []struct {
		name string
		objs []runtime.Object
		want string
	}{
		{"preferred node affinity", []runtime.Object{newNode("a"), newNode("b", withLabels("disk", "ssd")), newNode("c"), newPod("p", preferSSD)}, "b"},
		{"preferred pod anti-affinity", []runtime.Object{newNode("a"), newNode("b"), newNode("c"),
			newPod("x", onNode("a"), podLabels("app", "cache")), newPod("y", onNode("c"), podLabels("app", "cache")),
			newPod("z", onNode("b"), podLabels("app", "other")), newPod("p", avoidCache)}, "b"},
		{"preferred pod affinity", []runtime.Object{newNode("a"), newNode("b"), newNode("c"),
			newPod("db", onNode("c"), podLabels("app", "db")), newPod("p", nearDB)}, "c"},
		{"least requested", []runtime.Object{newNode("a"), newNode("b"), newNode("c"),
			newPod("x", onNode("a"), requests("cpu", "3", "memory", "6Gi")), newPod("y", onNode("b"), requests("cpu", "2", "memory", "4Gi")),
			newPod("p", requests("cpu", "500m"))}, "c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startScheduler(t, tc.objs...)
			if got := h.waitBound("p"); got != tc.want {
				t.Fatalf("bound to %s, want %s", got, tc.want)
			}
		})
	}
}

// A term's namespaceSelector chooses the namespaces whose pods it matches.
func TestAntiAffinityNamespaceSelector(t *testing.T) {
	prod := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}}
	other := newPod("x", onNode("a"), podLabels("app", "web"))
	other.Namespace = "prod"
	p := newPod("p", affinity(&v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		TopologyKey:       "kubernetes.io/hostname",
	}}}}), nodeSelector("pool", "x"))
	h := startScheduler(t, prod, newNode("a", withLabels("pool", "x")), newNode("b", withLabels("pool", "x")), other, p)
	if got := h.waitBound("p"); got != "b" {
		t.Fatalf("bound to %s, want b", got)
	}
}

func TestFitErrorFormat(t *testing.T) {
	got := fitError(3, "", map[string][]string{
		"a": {"node(s) had untolerated taint {node.kubernetes.io/unreachable: }"},
		"b": {"Insufficient cpu", "Insufficient memory"},
		"c": {"Insufficient cpu"},
	})
	want := "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu." + preemptionOf3
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
