package deployment

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptrTo[T any](v T) *T { return &v }

func rolling(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas, Strategy: appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}}}
}

// TestFenceposts: maxSurge rounds up, maxUnavailable down, both 0 makes
// unavailable 1, and unavailable never exceeds replicas.
func TestFenceposts(t *testing.T) {
	pct := intstr.FromString
	n := intstr.FromInt32
	for _, tc := range []struct {
		d                  *appsv1.Deployment
		surge, unavailable int32
	}{
		{rolling(10, pct("25%"), pct("25%")), 3, 2},
		{rolling(3, pct("25%"), pct("25%")), 1, 0},
		{rolling(1, pct("0%"), pct("0%")), 0, 1},
		{rolling(2, n(0), n(5)), 0, 2},
		{rolling(0, n(1), n(1)), 1, 0},
		{&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptrTo(int32(3)), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, 0, 0},
	} {
		if s, u := maxSurge(tc.d), maxUnavailable(tc.d); s != tc.surge || u != tc.unavailable {
			t.Errorf("replicas %d %+v: surge %d unavailable %d, want %d %d", *tc.d.Spec.Replicas, tc.d.Spec.Strategy, s, u, tc.surge, tc.unavailable)
		}
	}
}

func rs(name string, replicas int32, template string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", hashLabel: name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: template}}}}}}
}

// TestNewReplicaSetSize: the new ReplicaSet grows while every ReplicaSet
// together stays within replicas + maxSurge.
func TestNewReplicaSetSize(t *testing.T) {
	d := rolling(4, intstr.FromInt32(1), intstr.FromInt32(1))
	newRS, old := rs("b", 0, "v2"), rs("a", 4, "v1")
	if got := newReplicaSetSize(d, []*appsv1.ReplicaSet{old, newRS}, newRS); got != 1 {
		t.Errorf("first step: %d, want 1", got)
	}
	*old.Spec.Replicas, *newRS.Spec.Replicas = 2, 2
	if got := newReplicaSetSize(d, []*appsv1.ReplicaSet{old, newRS}, newRS); got != 3 {
		t.Errorf("later step: %d, want 3", got)
	}
	*old.Spec.Replicas = 3
	if got := newReplicaSetSize(d, []*appsv1.ReplicaSet{old, newRS}, newRS); got != 2 {
		t.Errorf("at the surge limit: %d, want 2", got)
	}
}

// TestTemplateHash: the hash ignores nothing of the template, moves with
// the collision count, and splitNewOld finds the new ReplicaSet whatever
// its hash label.
func TestTemplateHash(t *testing.T) {
	a, b := rs("x", 1, "v1").Spec.Template, rs("x", 1, "v2").Spec.Template
	if templateHash(&a, nil) == templateHash(&b, nil) {
		t.Error("two templates hash alike")
	}
	if templateHash(&a, nil) != templateHash(a.DeepCopy(), nil) || templateHash(&a, nil) == templateHash(&a, ptrTo(int32(1))) {
		t.Error("hash not stable, or not moved by the collision count")
	}
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: *b.DeepCopy()}}
	delete(d.Spec.Template.Labels, hashLabel)
	newRS, old := splitNewOld(d, []*appsv1.ReplicaSet{rs("one", 1, "v1"), rs("two", 1, "v2")})
	if newRS == nil || newRS.Name != "two" || len(old) != 1 || old[0].Name != "one" {
		t.Errorf("new %v old %v", newRS, old)
	}
}

// TestFraction: scaling a Deployment from 10 (+3 surge) to 20 (+5) grows
// a ReplicaSet of 4 made for 13 to ceil(4·25/13) = 8.
func TestFraction(t *testing.T) {
	d := rolling(20, intstr.FromString("25%"), intstr.FromString("25%"))
	r := rs("a", 4, "v1")
	r.Annotations = map[string]string{maxReplicasAnnotation: "13"}
	if got := fraction(r, d); got != 4 {
		t.Errorf("fraction %d, want 4", got)
	}
	*d.Spec.Replicas = 0
	if got := fraction(r, d); got != -4 {
		t.Errorf("to zero: %d, want -4", got)
	}
}

// TestAnnotations: a new ReplicaSet gets the Deployment's own annotations
// and the next revision; an old revision reused goes to revision-history.
func TestAnnotations(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "v2", lastAppliedAnnotation: "{}", revisionAnnotation: "2"}
	r := rs("a", 0, "v1")
	r.Annotations = map[string]string{revisionAnnotation: "1"}
	if !setNewAnnotations(d, r, 3) {
		t.Fatal("no change reported")
	}
	want := map[string]string{"kubernetes.io/change-cause": "v2", revisionAnnotation: "3", revisionHistoryAnnotation: "1",
		desiredReplicasAnnotation: "3", maxReplicasAnnotation: "4"}
	for k, v := range want {
		if r.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q (all: %v)", k, r.Annotations[k], v, r.Annotations)
		}
	}
	if _, ok := r.Annotations[lastAppliedAnnotation]; ok {
		t.Errorf("last-applied-configuration copied")
	}
	if setNewAnnotations(d, r, 3) {
		t.Error("a second call changed something")
	}
}
