package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"petset/internal/node"
)

// startSimulatedNodes joins n simulated nodes to the cluster.
func startSimulatedNodes(t *testing.T, c *cluster, n int) {
	t.Helper()
	startSimulatedNodesWith(t, c, n, func(int, *node.Config) {})
}

// startSimulatedNodesWith is startSimulatedNodes with configure applied to
// node i's configuration.
func startSimulatedNodesWith(t *testing.T, c *cluster, n int, configure func(i int, cfg *node.Config)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var dones []chan error
	for i := 0; i < n; i++ {
		cfg := &restclient.Config{
			Host:            c.cp.ServerURL(),
			TLSClientConfig: restclient.TLSClientConfig{CAFile: c.cp.CAFile()}, QPS: 200, Burst: 400,
		}
		ncfg := node.Config{
			Name: fmt.Sprintf("sim-%d", i), Client: cfg, DataDir: t.TempDir(), NodeIP: "127.0.0.1",
			PodCIDR: fmt.Sprintf("10.89.%d.0/24", i), Simulate: true, BootstrapToken: c.cp.JoinToken(),
			SimStartDelay: 20 * time.Millisecond, SimReadyDelay: 20 * time.Millisecond, SimStopDelay: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		configure(i, &ncfg)
		nd, err := node.New(ncfg)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		dones = append(dones, done)
		go func() { done <- nd.Run(ctx) }()
		select {
		case <-nd.Ready():
		case err := <-done:
			t.Fatalf("simulated node %d: %v", i, err)
		}
	}
	t.Cleanup(func() {
		cancel()
		for _, d := range dones {
			<-d
		}
	})
}

func webSet(name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	sts := statefulSet(name, replicas)
	sts.Spec.PodManagementPolicy = policy
	sts.Spec.Template.Spec.Containers[0].Command = []string{"sleep", "infinity"}
	sts.Spec.Template.Spec.Containers[0].Image = "nginx:1.25"
	sts.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}}
	sts.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "www"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
		},
	}}
	return sts
}

// readyPods lists the set's pods that are Running and Ready, by name.
func podsOf(t *testing.T, c *cluster, app string) []corev1.Pod {
	t.Helper()
	l, err := c.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items
}

func isReady(p corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitReady(t *testing.T, c *cluster, app string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("pods %v ready", want), func() (bool, error) {
		var got []string
		for _, p := range podsOf(t, c, app) {
			if isReady(p) {
				got = append(got, p.Name)
			}
		}
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Errorf("ready: %v", got)
	})
}

func TestStatefulSetOnSimulatedNodes(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 3)
	ctx := context.Background()
	sets := c.client.AppsV1().StatefulSets("default")
	if _, err := sets.Create(ctx, webSet("web", 3, appsv1.OrderedReadyPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "web", "web-0", "web-1", "web-2")

	// OrderedReady: each pod was created after its predecessor was ready.
	pods := podsOf(t, c, "web")
	for i := 1; i < len(pods); i++ {
		prevReady := readySince(pods[i-1])
		if pods[i].CreationTimestamp.Time.Before(prevReady.Truncate(time.Second)) {
			t.Errorf("%s created at %v before %s was ready at %v", pods[i].Name, pods[i].CreationTimestamp, pods[i-1].Name, prevReady)
		}
	}
	// Identity: hostname, subdomain, labels, claims.
	for i, p := range pods {
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "web" || p.Labels["apps.kubernetes.io/pod-index"] != fmt.Sprint(i) {
			t.Errorf("%s: hostname %q subdomain %q index label %q", p.Name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels["apps.kubernetes.io/pod-index"])
		}
		claim, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-"+p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("claim of %s: %v", p.Name, err)
		}
		if claim.Status.Phase != corev1.ClaimBound {
			t.Errorf("claim %s is %s, want Bound", claim.Name, claim.Status.Phase)
		}
	}

	// Delete a pod: it comes back with the same name and claim.
	uid := pods[1].UID
	if err := c.client.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web-1 replaced", func() (bool, error) {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
		return err == nil && p.UID != uid && isReady(*p), err
	})

	// Scale 3 → 5 → 2 keeps every claim.
	scale := func(n int32) { scaleSet(t, c, "web", n) }
	scale(5)
	waitReady(t, c, "web", "web-0", "web-1", "web-2", "web-3", "web-4")
	scale(2)
	waitReady(t, c, "web", "web-0", "web-1")
	eventually(t, "scaled-down pods gone", func() (bool, error) { return len(podsOf(t, c, "web")) == 2, nil })
	for i := 0; i < 5; i++ {
		if _, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, fmt.Sprintf("www-web-%d", i), metav1.GetOptions{}); err != nil {
			t.Errorf("claim www-web-%d after scale down: %v", i, err)
		}
	}
	scale(3)
	waitReady(t, c, "web", "web-0", "web-1", "web-2")

	// Rolling update: reverse ordinal order, ending with current == update.
	updateSet(t, c, "web", func(sts *appsv1.StatefulSet) {
		sts.Spec.Template.Spec.Containers[0].Image = "nginx:1.26"
	})
	eventually(t, "rollout complete", func() (bool, error) {
		s, err := sets.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := s.Status
		return st.ObservedGeneration == s.Generation && st.UpdateRevision == st.CurrentRevision && st.UpdatedReplicas == 3 && st.ReadyReplicas == 3,
			fmt.Errorf("status %+v", st)
	})
	pods = podsOf(t, c, "web")
	for i := 0; i+1 < len(pods); i++ {
		// A higher ordinal was replaced (created) before a lower one.
		if pods[i].CreationTimestamp.Before(&pods[i+1].CreationTimestamp) {
			t.Errorf("%s (created %v) was updated before %s (created %v)", pods[i].Name, pods[i].CreationTimestamp, pods[i+1].Name, pods[i+1].CreationTimestamp)
		}
	}

	// Partition 2: only ordinals ≥ 2 move to a new revision.
	updateSet(t, c, "web", func(sts *appsv1.StatefulSet) {
		sts.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2), MaxUnavailable: ptr.To(intstr.FromInt32(1))}
		sts.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	})
	eventually(t, "partitioned rollout", func() (bool, error) {
		s, err := sets.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if s.Status.UpdatedReplicas != 1 || s.Status.ReadyReplicas != 3 {
			return false, fmt.Errorf("status %+v", s.Status)
		}
		for _, p := range podsOf(t, c, "web") {
			img := p.Spec.Containers[0].Image
			if (p.Name == "web-2") != (img == "nginx:1.27") {
				return false, fmt.Errorf("%s runs %s", p.Name, img)
			}
		}
		return true, nil
	})
}

// updateSet changes a set, retrying on conflicts with the controller's
// status writes.
func updateSet(t *testing.T, c *cluster, name string, mutate func(*appsv1.StatefulSet)) {
	t.Helper()
	sets := c.client.AppsV1().StatefulSets("default")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sts, err := sets.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(sts)
		_, err = sets.Update(context.Background(), sts, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scaleSet sets a set's replicas through the scale subresource, retrying
// when the controller's status writes changed the set in between.
func scaleSet(t *testing.T, c *cluster, name string, n int32) {
	t.Helper()
	sets := c.client.AppsV1().StatefulSets("default")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := sets.GetScale(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = n
		_, err = sets.UpdateScale(context.Background(), name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readySince(p corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// TestRetentionPolicies checks the four whenDeleted/whenScaled combinations:
// which claims survive a scale-down and the deletion of the set.
func TestRetentionPolicies(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	type want struct{ afterScale, afterDelete []string }
	cases := map[string]struct {
		deleted, scaled appsv1.PersistentVolumeClaimRetentionPolicyType
		want            want
	}{
		"retain-retain": {appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, want{[]string{"0", "1"}, []string{"0", "1"}}},
		"delete-retain": {appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, want{[]string{"0", "1"}, nil}},
		"retain-delete": {appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType, want{[]string{"0"}, []string{"0"}}},
		"delete-delete": {appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType, want{[]string{"0"}, nil}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			set := webSet("rp-"+name, 2, appsv1.ParallelPodManagement)
			set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: tc.deleted, WhenScaled: tc.scaled}
			sets := c.client.AppsV1().StatefulSets("default")
			if _, err := sets.Create(ctx, set, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			app := set.Name
			waitReady(t, c, app, app+"-0", app+"-1")
			claims := func() ([]string, error) {
				var out []string
				for _, i := range []string{"0", "1"} {
					claim, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-"+app+"-"+i, metav1.GetOptions{})
					if err == nil && claim.DeletionTimestamp == nil {
						out = append(out, i)
					}
				}
				return out, nil
			}
			scaleSet(t, c, app, 1)
			eventually(t, "claims after scale-down", func() (bool, error) {
				got, _ := claims()
				return fmt.Sprint(got) == fmt.Sprint(tc.want.afterScale) && len(podsOf(t, c, app)) == 1, fmt.Errorf("claims %v", got)
			})
			if err := sets.Delete(ctx, app, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "claims after delete", func() (bool, error) {
				got, _ := claims()
				return fmt.Sprint(got) == fmt.Sprint(tc.want.afterDelete) && len(podsOf(t, c, app)) == 0, fmt.Errorf("claims %v", got)
			})
		})
	}
}
