package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"petset/internal/registry/defaults"
)

func validDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
		},
	}
	defaults.Deployment(d)
	return d
}

// TestDeployment: kube 1.37's messages for the Deployment rules.
func TestDeployment(t *testing.T) {
	gk := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	cases := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []string
	}{
		{"valid", func(*appsv1.Deployment) {}, nil},
		{"dotted name is fine", func(d *appsv1.Deployment) { d.Name = "web.v1" }, nil},
		{"recreate", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}, nil},
		{"selector does not match", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "x"} }, []string{
			`spec.template.metadata.labels: Invalid value: {"app":"x"}: ` + "`selector` does not match template `labels`"}},
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []string{"spec.selector: Required value"}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []string{
			"spec.selector: Invalid value:", "empty selector is invalid for deployment"}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(-1)) }, []string{
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{"restartPolicy Never", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }, []string{
			`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{"activeDeadlineSeconds", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo(int64(5)) }, []string{
			"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"}},
		{"container without image", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }, []string{
			"spec.template.spec.containers[0].image: Required value"}},
		{"both zero", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(0))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("0%"))
		}, []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when ` + "`maxSurge` is 0"}},
		{"maxUnavailable over 100%", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("150%"))
		}, []string{
			`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%`}},
		{"maxSurge over 100% is fine", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("150%")) }, nil},
		{"negative maxSurge", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(-1)) }, []string{
			"spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"}},
		{"recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }, []string{
			"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"}},
		{"unknown strategy", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Blue" }, []string{
			`spec.strategy: Unsupported value:`, `supported values: "Recreate", "RollingUpdate"`}},
		{"deadline not above minReadySeconds", func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 10
			d.Spec.ProgressDeadlineSeconds = ptrTo(int32(10))
		}, []string{"spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds"}},
		{"negative history", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptrTo(int32(-1)) }, []string{
			"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			tc.mutate(d)
			checkErrs(t, gk, d.Name, ValidateDeployment(d), tc.want)
		})
	}

	t.Run("update: the selector is immutable, the rest may change", func(t *testing.T) {
		old := validDeployment()
		d := old.DeepCopy()
		d.Spec.Replicas = ptrTo(int32(5))
		d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		checkErrs(t, gk, d.Name, ValidateDeploymentUpdate(d, old), nil)
		d.Spec.Selector.MatchLabels["tier"] = "front"
		d.Spec.Template.Labels["tier"] = "front"
		checkErrs(t, gk, d.Name, ValidateDeploymentUpdate(d, old), []string{"spec.selector: Invalid value:", "field is immutable"})
	})
	t.Run("status", func(t *testing.T) {
		old := validDeployment()
		d := old.DeepCopy()
		d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, CollisionCount: ptrTo(int32(1))}
		checkErrs(t, gk, d.Name, ValidateDeploymentStatusUpdate(d, old), nil)
		old.Status = d.Status
		d = old.DeepCopy()
		d.Status.AvailableReplicas, d.Status.UpdatedReplicas = 3, 4
		d.Status.CollisionCount = ptrTo(int32(0))
		checkErrs(t, gk, d.Name, ValidateDeploymentStatusUpdate(d, old), []string{
			"status.updatedReplicas: Invalid value: 4: cannot be greater than status.replicas",
			"status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas",
			"status.collisionCount: Invalid value: 0: cannot be decremented"})
	})
}

// TestReplicaSet: kube 1.37's messages for the ReplicaSet rules.
func TestReplicaSet(t *testing.T) {
	gk := schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	valid := func() *appsv1.ReplicaSet {
		d := validDeployment()
		rs := &appsv1.ReplicaSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
		defaults.ReplicaSet(rs)
		return rs
	}
	cases := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet)
		want   []string
	}{
		{"valid", func(*appsv1.ReplicaSet) {}, nil},
		{"negative minReadySeconds", func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -1 }, []string{
			"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{"selector does not match", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Labels = nil }, []string{
			"spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`"}},
		{"bad name", func(rs *appsv1.ReplicaSet) { rs.Name = "Web" }, []string{`metadata.name: Invalid value: "Web"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := valid()
			tc.mutate(rs)
			checkErrs(t, gk, rs.Name, ValidateReplicaSet(rs), tc.want)
		})
	}
	t.Run("update: the selector is immutable", func(t *testing.T) {
		old := valid()
		rs := old.DeepCopy()
		rs.Spec.Replicas = ptrTo(int32(0))
		checkErrs(t, gk, rs.Name, ValidateReplicaSetUpdate(rs, old), nil)
		rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "v": "2"}}
		rs.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
		checkErrs(t, gk, rs.Name, ValidateReplicaSetUpdate(rs, old), []string{"spec.selector: Invalid value:", "field is immutable"})
	})
	t.Run("status", func(t *testing.T) {
		old := valid()
		rs := old.DeepCopy()
		rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: -1}
		checkErrs(t, gk, rs.Name, ValidateReplicaSetStatusUpdate(rs, old), []string{
			"status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
			"status.fullyLabeledReplicas: Invalid value: 3: cannot be greater than status.replicas"})
	})
}
