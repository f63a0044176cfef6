package integration

import (
	"context"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// TestPodEphemeralContainers: pods/ephemeralcontainers as kube-apiserver
// serves it (what `kubectl debug` calls): an ephemeral container is added
// to an existing pod through the subresource only, kube's rules refuse the
// fields a debugging container may not set, and once added it is neither
// changed nor removed; everything else in a write of the subresource is
// ignored.
func TestPodEphemeralContainers(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("default")
	debug := func(name string) corev1.EphemeralContainer {
		return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: "busybox", Command: []string{"sh"}, Stdin: true, TTY: true,
		}, TargetContainerName: "app"}
	}
	base := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "target", Labels: map[string]string{"app": "target"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "luksa/kubia"}}},
	}

	// Not on create.
	withEphemeral := base.DeepCopy()
	withEphemeral.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug("dbg")}
	_, err := pods.Create(ctx, withEphemeral, metav1.CreateOptions{})
	wantInvalid(t, err, "spec.ephemeralContainers: Forbidden: cannot be set on create")

	pod, err := pods.Create(ctx, base, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Added through the subresource; the rest of the write is ignored.
	add := pod.DeepCopy()
	add.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug("dbg")}
	add.Spec.Containers[0].Image = "nginx"
	add.Labels = map[string]string{"app": "changed"}
	got, err := pods.UpdateEphemeralContainers(ctx, "target", add, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Spec.EphemeralContainers); n != 1 || got.Spec.EphemeralContainers[0].Name != "dbg" {
		t.Fatalf("ephemeral containers after the update: %+v", got.Spec.EphemeralContainers)
	}
	ec := got.Spec.EphemeralContainers[0]
	if ec.TerminationMessagePolicy != corev1.TerminationMessageReadFile || ec.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("ephemeral container not defaulted as a container: policy %q pull %q", ec.TerminationMessagePolicy, ec.ImagePullPolicy)
	}
	if got.Spec.Containers[0].Image != "luksa/kubia" || got.Labels["app"] != "target" {
		t.Errorf("the subresource changed more than ephemeral containers: image %q labels %v", got.Spec.Containers[0].Image, got.Labels)
	}
	if got.Generation != pod.Generation+1 {
		t.Errorf("generation %d after adding an ephemeral container, want %d", got.Generation, pod.Generation+1)
	}

	// Kube's rules for the new container.
	bad := []struct {
		name string
		edit func(*corev1.EphemeralContainer)
		want string
	}{
		{"ports", func(e *corev1.EphemeralContainer) { e.Ports = []corev1.ContainerPort{{ContainerPort: 80}} },
			"spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container"},
		{"probe", func(e *corev1.EphemeralContainer) {
			e.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}, "spec.ephemeralContainers[1].readinessProbe: Forbidden: cannot be set for an Ephemeral Container"},
		{"target", func(e *corev1.EphemeralContainer) { e.TargetContainerName = "nope" },
			`spec.ephemeralContainers[1].targetContainerName: Not found: "nope"`},
		{"duplicate", func(e *corev1.EphemeralContainer) { e.Name = "app" },
			`spec.ephemeralContainers[1].name: Duplicate value: "app"`},
		{"subpath", func(e *corev1.EphemeralContainer) {
			e.VolumeMounts = []corev1.VolumeMount{{Name: pod.Spec.Volumes[0].Name, MountPath: "/x", SubPath: "y"}}
		}, "spec.ephemeralContainers[1].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			e := debug("dbg-" + tc.name)
			tc.edit(&e)
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				cur, err := pods.Get(ctx, "target", metav1.GetOptions{})
				if err != nil {
					return err
				}
				cur.Spec.EphemeralContainers = append(cur.Spec.EphemeralContainers, e)
				_, err = pods.UpdateEphemeralContainers(ctx, "target", cur, metav1.UpdateOptions{})
				return err
			})
			wantInvalid(t, err, tc.want)
		})
	}

	// Once added: neither changed nor removed, and not through the pod.
	write := func(edit func(*corev1.Pod), update func(*corev1.Pod) error) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := pods.Get(ctx, "target", metav1.GetOptions{})
			if err != nil {
				return err
			}
			edit(cur)
			return update(cur)
		})
	}
	viaSubresource := func(p *corev1.Pod) error {
		_, err := pods.UpdateEphemeralContainers(ctx, "target", p, metav1.UpdateOptions{})
		return err
	}
	err = write(func(p *corev1.Pod) { p.Spec.EphemeralContainers[0].Image = "nginx" }, viaSubresource)
	wantInvalid(t, err, `existing ephemeral containers "dbg" may not be changed`)
	err = write(func(p *corev1.Pod) { p.Spec.EphemeralContainers = nil }, viaSubresource)
	wantInvalid(t, err, `existing ephemeral containers "dbg" may not be removed`)
	err = write(func(p *corev1.Pod) { p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, debug("other")) }, func(p *corev1.Pod) error {
		_, err := pods.Update(ctx, p, metav1.UpdateOptions{})
		return err
	})
	wantInvalid(t, err, "pod updates may not change fields other than")

	// The strategic merge patch kubectl debug sends.
	patch := `{"spec":{"ephemeralContainers":[{"name":"dbg2","image":"busybox","command":["sh"],"stdin":true,"tty":true}]}}`
	got, err = pods.Patch(ctx, "target", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got.Spec.EphemeralContainers {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "dbg,dbg2" {
		t.Errorf("ephemeral containers after the patch: %v, want dbg and dbg2", names)
	}
}

// wantInvalid fails unless err is a 422 Invalid whose message contains
// want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want 422 Invalid containing %q", err, want)
	}
}
