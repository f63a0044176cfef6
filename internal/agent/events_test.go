package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"petset/internal/agent/image"
	rtfake "petset/internal/agent/runtime/fake"
)

// events lists the events recorded about the pod: "Type Reason fieldPath: message" → count.
func (h *harness) events(pod string) map[string]int32 {
	h.t.Helper()
	l, err := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, e := range l.Items {
		if e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.Name != pod {
			continue
		}
		if e.Source.Component != "kubelet" || e.Source.Host != node {
			h.t.Errorf("event source %+v", e.Source)
		}
		key := fmt.Sprintf("%s %s %s: %s", e.Type, e.Reason, e.InvolvedObject.FieldPath, e.Message)
		out[key] += e.Count
	}
	return out
}

func dump(m map[string]int32) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "\n  %dx %s", v, k)
	}
	return b.String()
}

// A pod whose ConfigMap is missing waits in ContainerCreating with a
// FailedMount event in kubelet's words, repeats aggregate into one event,
// retries back off (500ms doubling), and the pod starts once the ConfigMap
// exists.
func TestMissingConfigMapFailedMountBackOffAndRecovery(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, clk)
	// The fake clock's time of each read of the ConfigMap.
	var (
		readsMu sync.Mutex
		reads   []time.Time
	)
	var objects objectCache // the agent's own, unrecorded
	h.wrapObjects = func(o objectCache) objectCache {
		objects = o
		return readRecorder{objectCache: o, read: func() {
			readsMu.Lock()
			defer readsMu.Unlock()
			reads = append(reads, clk.Now())
		}}
	}
	h.start(h.config())
	p := simplePod("cm-0")
	p.Spec.Containers[0].ReadinessProbe = nil
	p.Spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mysql"}}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/mysql/conf.d"}}
	h.createPod(p)

	want := `Warning FailedMount : MountVolume.SetUp failed for volume "config" : configmap "mysql" not found`
	eventually(t, "FailedMount event", func() bool { return h.events("cm-0")[want] >= 1 }, nil)
	eventually(t, "ContainerCreating", func() bool {
		p := h.pod("cm-0")
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "ContainerCreating" && p.Status.Phase == corev1.PodPending
	}, nil)

	cmGets := func() int {
		readsMu.Lock()
		defer readsMu.Unlock()
		return len(reads)
	}
	// Back-off: a retry after 500ms, the next a further 1s later (the
	// times of the reads are checked once the pod runs).
	clk.Step(500 * time.Millisecond)
	eventually(t, "second attempt", func() bool { return cmGets() == 2 }, nil)
	eventually(t, "repeat aggregated into the same event", func() bool { return h.events("cm-0")[want] == 2 }, nil)
	clk.Step(900 * time.Millisecond)
	if got := h.events("cm-0"); len(got) != 1 {
		t.Errorf("events besides the aggregated FailedMount:%s", dump(got))
	}

	if _, err := h.client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "mysql", Namespace: "default"}, Data: map[string]string{"my.cnf": "[mysqld]\n"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The agent follows the ConfigMap by a watch: the retry reads it once
	// the watch has delivered it.
	eventually(t, "the agent's watch delivers the ConfigMap", func() bool {
		_, err := objects.ConfigMap(context.Background(), "default", "mysql")
		return err == nil
	}, nil)
	clk.Step(100 * time.Millisecond)
	eventually(t, "running once the ConfigMap exists", func() bool { return h.pod("cm-0").Status.Phase == corev1.PodRunning }, nil)
	readsMu.Lock()
	at := append([]time.Time(nil), reads...)
	readsMu.Unlock()
	if len(at) < 3 || at[1].Sub(at[0]) < 500*time.Millisecond || at[2].Sub(at[1]) < time.Second {
		t.Errorf("ConfigMap read at %v, want the first three reads 500ms then 1s apart", at)
	}
	got := h.events("cm-0")
	for _, w := range []string{
		`Normal Pulled spec.containers{main}: Container image "busybox" already present on machine`,
		`Normal Created spec.containers{main}: Container created`,
		`Normal Started spec.containers{main}: Container started`,
	} {
		if got[w] != 1 {
			t.Errorf("want once %q; events:%s", w, dump(got))
		}
	}
}

// A claim bound to a volume kind petset cannot mount (a GCE disk) gets a
// FailedMount event naming the type.
func TestUnsupportedPersistentVolumeFailedMount(t *testing.T) {
	h := newHarness(t, nil)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "gce-disk"},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "my-data-disk", FSType: "ext4"},
		}},
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "gce-disk"},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	h.createVolumeAndClaim(pv, pvc)
	h.start(h.config())
	p := simplePod("gce-0")
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	h.createPod(p)
	want := `Warning FailedMount : MountVolume.SetUp failed for volume "data" : volume type not supported by petset: persistentvolume "gce-disk" is gcePersistentDisk (petset mounts local and hostPath persistent volumes)`
	eventually(t, "FailedMount naming gcePersistentDisk", func() bool { return h.events("gce-0")[want] >= 1 }, nil)
}

// An image petset cannot run: kubelet's pull events (Pulling, Failed with
// the reason, Error: ErrImagePull), then BackOff and Error:
// ImagePullBackOff while the back-off lasts.
func TestImagePullEvents(t *testing.T) {
	h := newHarness(t, nil)
	cfg := h.config()
	cfg.Images = image.New()
	h.start(cfg)
	p := simplePod("img-0")
	p.Spec.Containers[0].Command = nil
	p.Spec.Containers[0].Image = "mysql:8.0"
	h.createPod(p)
	want := []string{
		`Normal Pulling spec.containers{main}: Pulling image "mysql:8.0"`,
		`Warning Failed spec.containers{main}: Failed to pull image "mysql:8.0": image not found in the petset image catalog: "mysql:8.0" (petset runs host programs; give the container a command, or add the image to the catalog file)`,
		`Warning Failed spec.containers{main}: Error: ErrImagePull`,
		`Normal BackOff spec.containers{main}: Back-off pulling image "mysql:8.0"`,
		`Warning Failed spec.containers{main}: Error: ImagePullBackOff`,
	}
	eventually(t, "pull events", func() bool {
		got := h.events("img-0")
		for _, w := range want {
			if got[w] == 0 {
				return false
			}
		}
		return true
	}, nil)
	if got := h.events("img-0"); len(got) != len(want) {
		t.Errorf("events:%s", dump(got))
	}
}

// Before anything is set up, the first status says ContainerCreating, or
// PodInitializing for every container of a pod with init containers (init
// containers included: kubelet's convertToAPIContainerStatuses default, so
// kubectl shows Init:0/1), rather than jumping from Pending to Running.
func TestFirstStatusContainerCreating(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	p := simplePod("first-0")
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"true"}}}
	h.createPod(p)
	var first *corev1.Pod
	eventually(t, "a status written", func() bool {
		for _, a := range h.client.Actions() {
			if u, ok := a.(k8stesting.UpdateAction); ok && u.GetSubresource() == "status" && u.GetResource().Resource == "pods" {
				first = u.GetObject().(*corev1.Pod)
				return true
			}
		}
		return false
	}, nil)
	st := first.Status
	if st.Phase != corev1.PodPending || len(st.InitContainerStatuses) != 1 || len(st.ContainerStatuses) != 1 ||
		st.InitContainerStatuses[0].State.Waiting == nil || st.InitContainerStatuses[0].State.Waiting.Reason != "PodInitializing" ||
		st.ContainerStatuses[0].State.Waiting == nil || st.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" {
		t.Errorf("first status %+v", st)
	}
}

// Deleting a pod records Killing for each running container.
func TestKillingEvent(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	h.createPod(simplePod("kill-0"))
	eventually(t, "running", func() bool { return h.pod("kill-0").Status.Phase == corev1.PodRunning }, nil)
	cur := h.pod("kill-0")
	now := metav1.Now()
	cur.DeletionTimestamp = &now
	cur.DeletionGracePeriodSeconds = ptrInt64(30)
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `Normal Killing spec.containers{main}: Stopping container main`
	eventually(t, "Killing event", func() bool { return h.events("kill-0")[want] == 1 }, nil)
}

// A container whose env names a missing ConfigMap: CreateContainerConfigError
// with kubelet's "Error: …" event; a container that keeps failing: BackOff
// "Back-off restarting failed container".
func TestContainerFailureEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.start(h.config())
	p := simplePod("env-0")
	p.Spec.Containers[0].ReadinessProbe = nil
	p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}
	h.createPod(p)
	want := `Warning Failed spec.containers{main}: Error: configmap "settings" not found`
	eventually(t, "config error event", func() bool { return h.events("env-0")[want] >= 1 }, nil)

	c := simplePod("crash-0")
	c.Spec.Containers[0].ReadinessProbe = nil
	c.Annotations = map[string]string{rtfake.SimulateAnnotation: "fail"}
	h.createPod(c)
	want = `Warning BackOff spec.containers{main}: Back-off restarting failed container main in pod crash-0_default(uid-crash-0)`
	eventually(t, "crash loop back-off event", func() bool { return h.events("crash-0")[want] >= 1 }, nil)
	if n := h.events("crash-0")[`Normal Started spec.containers{main}: Container started`]; n != 2 {
		t.Errorf("Started recorded %d times for two starts", n)
	}
}

// Failed probe runs are kubelet's Unhealthy events, aggregated.
func TestUnhealthyEvent(t *testing.T) {
	h := newHarness(t, nil)
	rt, err := rtfake.New(rtfake.Config{PodCIDR: "10.88.3.0/24", ReadyDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h.rt = rt
	h.start(h.config())
	p := simplePod("unready-0")
	p.Spec.Containers[0].ReadinessProbe.PeriodSeconds = 1
	h.createPod(p)
	want := `Warning Unhealthy spec.containers{main}: Readiness probe failed: simulated container is not ready yet`
	eventually(t, "two Unhealthy runs aggregated", func() bool { return h.events("unready-0")[want] >= 2 }, nil)
	if got := h.events("unready-0"); got[want] == 0 || isTrue(h.pod("unready-0"), corev1.PodReady) {
		t.Errorf("events:%s", dump(got))
	}
}

// readRecorder calls read at every read of a ConfigMap.
type readRecorder struct {
	objectCache
	read func()
}

func (r readRecorder) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	r.read()
	return r.objectCache.ConfigMap(ctx, namespace, name)
}

// An agent that records Warning events only (simulated nodes) records a
// crash-looping container's back-off but none of the Normal events of its
// starts (Pulled, Created, Started), which the agent emitted before the
// back-off and its recorder writes in order.
func TestWarningEventsOnly(t *testing.T) {
	h := newHarness(t, nil)
	cfg := h.config()
	cfg.WarningEventsOnly = true
	h.start(cfg)
	c := simplePod("crash-0")
	c.Spec.Containers[0].ReadinessProbe = nil
	c.Annotations = map[string]string{rtfake.SimulateAnnotation: "fail"}
	h.createPod(c)
	want := `Warning BackOff spec.containers{main}: Back-off restarting failed container main in pod crash-0_default(uid-crash-0)`
	eventually(t, "crash loop back-off event", func() bool { return h.events("crash-0")[want] >= 1 }, nil)
	for k := range h.events("crash-0") {
		if strings.HasPrefix(k, "Normal ") {
			t.Errorf("Normal event recorded: %s", k)
		}
	}
}
