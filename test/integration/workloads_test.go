package integration

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// deployment is a Deployment of replicas pods labelled app=name, each one
// container of image.
func deployment(name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// TestWorkloadsServed: apps/v1 Deployments and ReplicaSets are served with
// kube's defaults, validation, generation rules and /scale.
func TestWorkloadsServed(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	deploys := c.client.AppsV1().Deployments("default")

	d, err := deploys.Create(ctx, deployment("web", "nginx:1.27", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ru := d.Spec.Strategy.RollingUpdate
	if d.Generation != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxSurge.String() != "25%" || ru.MaxUnavailable.String() != "25%" ||
		*d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 ||
		d.Spec.Template.Spec.Containers[0].TerminationMessagePath != corev1.TerminationMessagePathDefault {
		t.Errorf("created deployment: generation %d, spec %+v", d.Generation, d.Spec)
	}

	// An annotation change bumps the generation, as upstream.
	d.Annotations = map[string]string{"note": "x"}
	if d, err = deploys.Update(ctx, d, metav1.UpdateOptions{}); err != nil || d.Generation != 2 {
		t.Fatalf("annotated deployment: generation %d, %v", d.Generation, err)
	}

	scale, err := deploys.UpdateScale(ctx, "web", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if scale.Spec.Replicas != 5 || scale.Status.Selector != "app=web" {
		t.Errorf("scale = %+v", scale)
	}
	if d, err = deploys.Get(ctx, "web", metav1.GetOptions{}); err != nil || *d.Spec.Replicas != 5 || d.Generation != 3 {
		t.Fatalf("scaled deployment: %v %v", d, err)
	}

	d.Spec.Selector.MatchLabels["tier"] = "front"
	d.Spec.Template.Labels["tier"] = "front"
	_, err = deploys.Update(ctx, d, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.selector: Invalid value:") || !strings.Contains(err.Error(), "field is immutable") {
		t.Errorf("selector change: %v", err)
	}

	bad := deployment("bad", "nginx", 1)
	bad.Spec.Template.Labels = map[string]string{"app": "other"}
	_, err = deploys.Create(ctx, bad, metav1.CreateOptions{})
	if want := `Deployment.apps "bad" is invalid: spec.template.metadata.labels: Invalid value: {"app":"other"}: ` + "`selector` does not match template `labels`"; err == nil || err.Error() != want {
		t.Errorf("mismatched selector: %v, want %s", err, want)
	}

	rss := c.client.AppsV1().ReplicaSets("default")
	rs, err := rss.Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "lone"},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *rs.Spec.Replicas != 1 {
		t.Errorf("replicaset replicas defaulted to %d", *rs.Spec.Replicas)
	}
	if scale, err = rss.GetScale(ctx, "lone", metav1.GetOptions{}); err != nil || scale.Spec.Replicas != 1 {
		t.Errorf("replicaset scale %+v, %v", scale, err)
	}
}
