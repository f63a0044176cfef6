package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
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

// rsPods are the pods of the namespace a ReplicaSet of that UID controls.
func rsPods(t *testing.T, c *cluster, uid types.UID) []corev1.Pod {
	t.Helper()
	list, err := c.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitReplicaSet waits until the ReplicaSet's status, at its generation,
// counts replicas pods of which ready are ready and available.
func waitReplicaSet(t *testing.T, c *cluster, name string, replicas, ready int32) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	eventually(t, fmt.Sprintf("replicaset %s at %d/%d", name, replicas, ready), func() (bool, error) {
		var err error
		rs, err = c.client.AppsV1().ReplicaSets("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := rs.Status
		return s.ObservedGeneration == rs.Generation && s.Replicas == replicas && s.FullyLabeledReplicas == replicas &&
			s.ReadyReplicas == ready && s.AvailableReplicas == ready && len(rsPods(t, c, rs.UID)) == int(replicas), fmt.Errorf("status %+v", s)
	})
	return rs
}

// TestReplicaSetController: a ReplicaSet adopts a matching orphan and
// creates the rest from its template, scales through /scale, releases a pod
// whose labels stop matching and replaces it, and its pods go with it.
func TestReplicaSetController(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	d := deployment("kv", "nginx", 3)
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kv-orphan", Labels: map[string]string{"app": "kv"}}, Spec: d.Spec.Template.Spec}
	if _, err := c.client.CoreV1().Pods("default").Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rss := c.client.AppsV1().ReplicaSets("default")
	rs, err := rss.Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "kv"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(3)), Selector: d.Spec.Selector, Template: d.Spec.Template}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitReplicaSet(t, c, "kv", 3, 3)
	pods := rsPods(t, c, rs.UID)
	adopted := false
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if p.Name == "kv-orphan" {
			adopted = true
		} else if !strings.HasPrefix(p.Name, "kv-") || p.Spec.Containers[0].Image != "nginx" {
			t.Errorf("pod %s from the template: %+v", p.Name, p.Spec)
		}
		if ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %s controller reference %+v", p.Name, ref)
		}
	}
	if !adopted {
		t.Errorf("the orphan was not adopted: %d pods", len(pods))
	}

	if _, err := rss.UpdateScale(ctx, "kv", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "kv"},
		Spec: autoscalingv1.ScaleSpec{Replicas: 1}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs = waitReplicaSet(t, c, "kv", 1, 1)

	// A pod relabelled out of the selector is released and replaced.
	kept := rsPods(t, c, rs.UID)[0]
	patch := []byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`)
	if _, err := c.client.CoreV1().Pods("default").Patch(ctx, kept.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "released pod without a controller", func() (bool, error) {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, kept.Name, metav1.GetOptions{})
		return err == nil && metav1.GetControllerOf(p) == nil, err
	})
	waitReplicaSet(t, c, "kv", 1, 1)

	// Deleted in the background: the garbage collector takes its pods.
	if err := rss.Delete(ctx, "kv", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replicaset's pods deleted", func() (bool, error) {
		return len(rsPods(t, c, rs.UID)) == 0, nil
	})
}

// deploymentRSs are the ReplicaSets the Deployment of that UID controls,
// by revision annotation.
func deploymentRSs(t *testing.T, c *cluster, uid types.UID) map[string]appsv1.ReplicaSet {
	t.Helper()
	list, err := c.client.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == uid && rs.DeletionTimestamp == nil {
			out[rs.Annotations["deployment.kubernetes.io/revision"]] = rs
		}
	}
	return out
}

// waitRolledOut waits until the Deployment is complete at its generation,
// as kubectl rollout status decides, with its Progressing condition
// NewReplicaSetAvailable, and returns it.
func waitRolledOut(t *testing.T, c *cluster, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	eventually(t, "deployment "+name+" rolled out", func() (bool, error) {
		var err error
		d, err = c.client.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s, want := d.Status, *d.Spec.Replicas
		var progressing string
		for _, cond := range s.Conditions {
			if cond.Type == appsv1.DeploymentProgressing {
				progressing = cond.Reason
			}
		}
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want &&
			s.AvailableReplicas == want && progressing == "NewReplicaSetAvailable", fmt.Errorf("status %+v", s)
	})
	return d
}

// updateDeployment applies change to the current Deployment, retrying conflicts.
func updateDeployment(t *testing.T, c *cluster, name string, change func(*appsv1.Deployment)) {
	t.Helper()
	deploys := c.client.AppsV1().Deployments("default")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deploys.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(d)
		_, err = deploys.Update(context.Background(), d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeploymentRollout: a Deployment's first ReplicaSet (named by the
// template hash, revision 1), a rolling update to a second, a rollback as
// kubectl rollout undo does it (the old ReplicaSet becomes revision 3),
// a scale through /scale, a pause that holds a template change back,
// Recreate, revisionHistoryLimit 1 (revision 2 goes), and a foreground delete taking the
// ReplicaSets and pods with it.
func TestDeploymentRollout(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	deploys := c.client.AppsV1().Deployments("default")
	created, err := deploys.Create(ctx, deployment("web", "nginx:1.26", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := waitRolledOut(t, c, "web")
	rss := deploymentRSs(t, c, created.UID)
	first, ok := rss["1"]
	if !ok || len(rss) != 1 || d.Annotations["deployment.kubernetes.io/revision"] != "1" {
		t.Fatalf("first rollout: replicasets by revision %v, deployment annotations %v", rss, d.Annotations)
	}
	hash := first.Labels["pod-template-hash"]
	if hash == "" || first.Name != "web-"+hash || first.Spec.Selector.MatchLabels["pod-template-hash"] != hash ||
		first.Annotations["deployment.kubernetes.io/desired-replicas"] != "3" || first.Annotations["deployment.kubernetes.io/max-replicas"] != "4" {
		t.Errorf("first replicaset %s: labels %v, selector %v, annotations %v", first.Name, first.Labels, first.Spec.Selector, first.Annotations)
	}

	updateDeployment(t, c, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.27" })
	d = waitRolledOut(t, c, "web")
	eventually(t, "the old replicaset scaled to 0", func() (bool, error) {
		rss = deploymentRSs(t, c, created.UID)
		return len(rss) == 2 && *rss["1"].Spec.Replicas == 0 && *rss["2"].Spec.Replicas == 3, fmt.Errorf("%d replicasets", len(rss))
	})
	if d.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Errorf("deployment revision %q after the update", d.Annotations["deployment.kubernetes.io/revision"])
	}

	// kubectl rollout undo: the template of revision 1, without its hash.
	updateDeployment(t, c, "web", func(d *appsv1.Deployment) {
		old := rss["1"]
		tmpl := old.Spec.Template.DeepCopy()
		delete(tmpl.Labels, "pod-template-hash")
		d.Spec.Template = *tmpl
	})
	d = waitRolledOut(t, c, "web")
	eventually(t, "revision 1 back as revision 3", func() (bool, error) {
		rss = deploymentRSs(t, c, created.UID)
		back, ok := rss["3"]
		return ok && back.Name == first.Name && back.Annotations["deployment.kubernetes.io/revision-history"] == "1" &&
			*back.Spec.Replicas == 3 && *rss["2"].Spec.Replicas == 0, fmt.Errorf("replicasets %v", len(rss))
	})

	if _, err := deploys.UpdateScale(ctx, "web", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitRolledOut(t, c, "web")
	if rs := deploymentRSs(t, c, created.UID)["3"]; *rs.Spec.Replicas != 5 || rs.Annotations["deployment.kubernetes.io/desired-replicas"] != "5" {
		t.Errorf("scaled: replicaset %s replicas %d annotations %v", rs.Name, *rs.Spec.Replicas, rs.Annotations)
	}

	// Paused: a template change makes no ReplicaSet until resumed.
	updateDeployment(t, c, "web", func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		d.Spec.RevisionHistoryLimit = ptr.To(int32(1))
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	})
	eventually(t, "paused condition", func() (bool, error) {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "DeploymentPaused" {
				return d.Status.ObservedGeneration == d.Generation, nil
			}
		}
		return false, fmt.Errorf("conditions %+v", d.Status.Conditions)
	})
	updateDeployment(t, c, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" })
	eventually(t, "paused deployment observed", func() (bool, error) {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.ObservedGeneration == d.Generation, err
	})
	if rss = deploymentRSs(t, c, created.UID); len(rss) != 2 || *rss["3"].Spec.Replicas != 5 {
		t.Errorf("paused: a template change made a replicaset or scaled one: %d replicasets", len(rss))
	}
	updateDeployment(t, c, "web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	waitRolledOut(t, c, "web")
	eventually(t, "recreated as revision 4", func() (bool, error) {
		rss = deploymentRSs(t, c, created.UID)
		rs, ok := rss["4"]
		return ok && *rs.Spec.Replicas == 5 && rs.Spec.Template.Spec.Containers[0].Image == "nginx:1.28" && len(rss) == 2, fmt.Errorf("replicasets %d", len(rss))
	})

	fg := metav1.DeletePropagationForeground
	if err := deploys.Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deployment, replicasets and pods gone", func() (bool, error) {
		_, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		pods, perr := c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if perr != nil {
			return false, perr
		}
		return apierrors.IsNotFound(err) && len(deploymentRSs(t, c, created.UID)) == 0 && len(pods.Items) == 0,
			fmt.Errorf("deployment %v, %d pods", err, len(pods.Items))
	})
}

// TestDeploymentOrphanDelete: a Deployment deleted with propagation Orphan
// leaves its ReplicaSet, released (no owner reference), still keeping its
// pods.
func TestDeploymentOrphanDelete(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 1)
	ctx := context.Background()
	created, err := c.client.AppsV1().Deployments("default").Create(ctx, deployment("keep", "nginx", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c, "keep")
	rs := deploymentRSs(t, c, created.UID)["1"]
	orphan := metav1.DeletePropagationOrphan
	if err := c.client.AppsV1().Deployments("default").Delete(ctx, "keep", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replicaset released", func() (bool, error) {
		got, err := c.client.AppsV1().ReplicaSets("default").Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, derr := c.client.AppsV1().Deployments("default").Get(ctx, "keep", metav1.GetOptions{})
		return apierrors.IsNotFound(derr) && len(got.OwnerReferences) == 0, fmt.Errorf("owners %v, deployment %v", got.OwnerReferences, derr)
	})
	waitReplicaSet(t, c, rs.Name, 2, 2)
}
