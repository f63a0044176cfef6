package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
)

// harness runs the scheduler (and optionally more controllers) against a
// state-holding fake clientset. The fake does not implement pods/binding, so
// a reactor does what the API server's binding subresource does: set
// spec.nodeName and PodScheduled=True, refusing pods already bound.
type harness struct {
	t      *testing.T
	ctx    context.Context
	client *fake.Clientset
}

func newHarness(t *testing.T, objs ...runtime.Object) (*harness, informers.SharedInformerFactory, record.EventRecorder) {
	t.Helper()
	// Every object an API server stores has a resourceVersion; without
	// one, serveLikeAPIServer cannot refuse a write from a stale copy.
	for _, o := range objs {
		if m, err := meta.Accessor(o); err == nil && m.GetResourceVersion() == "" {
			m.SetResourceVersion("1")
		}
	}
	client := fake.NewClientset(objs...)
	serveLikeAPIServer(client)
	podsGVR := v1.SchemeGroupVersion.WithResource("pods")
	client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := action.(k8stesting.CreateAction).GetObject().(*v1.Binding)
		obj, err := client.Tracker().Get(podsGVR, b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*v1.Pod).DeepCopy()
		if pod.Spec.NodeName != "" {
			return true, nil, apierrors.NewConflict(podsGVR.GroupResource(), pod.Name, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		pod.ResourceVersion += "-bound"
		setCondition(&pod.Status, v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: metav1.Now()})
		return true, b, client.Tracker().Update(podsGVR, pod, pod.Namespace)
	})
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: SchedulerName})
	t.Cleanup(func() {
		cancel()
		broadcaster.Shutdown()
	})
	return &harness{t: t, ctx: ctx, client: client}, factory, recorder
}

// startScheduler runs a scheduler until the test ends.
func startScheduler(t *testing.T, objs ...runtime.Object) *harness {
	return startSchedulerWith(t, nil, objs...)
}

// startSchedulerWith runs a scheduler until the test ends whose API client
// is wrap(the harness's fake clientset), or the fake itself (wrap nil).
func startSchedulerWith(t *testing.T, wrap func(*fake.Clientset) kubernetes.Interface, objs ...runtime.Object) *harness {
	t.Helper()
	h, factory, recorder := newHarness(t, objs...)
	var client kubernetes.Interface = h.client
	if wrap != nil {
		client = wrap(h.client)
	}
	s := New(h.ctx, client, factory, recorder, 1)
	factory.Start(h.ctx.Done())
	h.run(s.Run)
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("scheduler never became ready")
	}
	return h
}

// run runs fn in a goroutine, fails the test if it returns an error, and
// waits for it when the test ends.
func (h *harness) run(fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			h.t.Errorf("run: %v", err)
		}
	}()
	h.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor waits until cond holds (bounded, to fail instead of hanging).
func (h *harness) waitFor(what string, cond func() (bool, error)) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(h.ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (h *harness) pod(name string) *v1.Pod {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("default").Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitBound waits for the pod to be bound and returns its node.
func (h *harness) waitBound(name string) string {
	h.t.Helper()
	var node string
	h.waitFor("pod "+name+" bound", func() (bool, error) {
		node = h.pod(name).Spec.NodeName
		return node != "", nil
	})
	return node
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable and returns
// its message.
func (h *harness) waitUnschedulable(name string) string {
	h.t.Helper()
	var msg string
	h.waitFor("pod "+name+" unschedulable", func() (bool, error) {
		for _, c := range h.pod(name).Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
				msg = c.Message
				return true, nil
			}
		}
		return false, nil
	})
	return msg
}

// waitEvent waits for an event about the named object with reason and a
// message containing msg.
func (h *harness) waitEvent(object, reason, msg string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("event %s %q on %s", reason, msg, object), func() (bool, error) {
		evs, err := h.client.CoreV1().Events("").List(h.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == object && e.Reason == reason && strings.Contains(e.Message, msg) {
				return true, nil
			}
		}
		return false, nil
	})
}

// --- object builders ---

type nodeOpt func(*v1.Node)

func newNode(name string, opts ...nodeOpt) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{
				v1.ResourceCPU:              resource.MustParse("4"),
				v1.ResourceMemory:           resource.MustParse("8Gi"),
				v1.ResourcePods:             resource.MustParse("110"),
				v1.ResourceEphemeralStorage: resource.MustParse("10Gi"),
			},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func withLabels(kv ...string) nodeOpt {
	return func(n *v1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withTaint(key, value string, effect v1.TaintEffect) nodeOpt {
	return func(n *v1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func withAllocatable(name v1.ResourceName, q string) nodeOpt {
	return func(n *v1.Node) { n.Status.Allocatable[name] = resource.MustParse(q) }
}

func withReady(s v1.ConditionStatus) nodeOpt {
	return func(n *v1.Node) { n.Status.Conditions[0].Status = s }
}

func unschedulableNode(n *v1.Node) { n.Spec.Unschedulable = true }

type podOpt func(*v1.Pod)

func newPod(name string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Labels: map[string]string{}},
		Spec: v1.PodSpec{
			SchedulerName: SchedulerName,
			Containers:    []v1.Container{{Name: "c", Image: "img"}},
		},
		Status: v1.PodStatus{Phase: v1.PodPending},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func podLabels(kv ...string) podOpt {
	return func(p *v1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func onNode(node string) podOpt { return func(p *v1.Pod) { p.Spec.NodeName = node } }

func requests(kv ...string) podOpt {
	return func(p *v1.Pod) {
		rl := v1.ResourceList{}
		for i := 0; i+1 < len(kv); i += 2 {
			rl[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		p.Spec.Containers[0].Resources.Requests = rl
	}
}

func hostPortOpt(port int32) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: port, HostPort: port})
	}
}

func tolerate(key string, effect v1.TaintEffect) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: key, Operator: v1.TolerationOpExists, Effect: effect})
	}
}

func nodeSelector(kv ...string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func affinity(a *v1.Affinity) podOpt { return func(p *v1.Pod) { p.Spec.Affinity = a } }

func antiAffinityHostname(kv ...string) podOpt {
	sel := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		sel[kv[i]] = kv[i+1]
	}
	return affinity(&v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: sel},
			TopologyKey:   "kubernetes.io/hostname",
		}},
	}})
}

func claimVolume(claim string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
	}
}

func ownedBy(kind, name string, uid types.UID) podOpt {
	return func(p *v1.Pod) {
		ctrl := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: uid, Controller: &ctrl}}
	}
}

func newClass(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
	}
}

func newClaim(name, class, size string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		},
		Status: v1.PersistentVolumeClaimStatus{Phase: v1.ClaimPending},
	}
	if class != "-" {
		c.Spec.StorageClassName = &class
	}
	return c
}

func newLocalPV(name, class, size, node string) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
		Status: v1.PersistentVolumeStatus{Phase: v1.VolumeAvailable},
	}
}

// serveLikeAPIServer makes the fake clientset's updates behave as the API
// server's do for the kinds these controllers write: optimistic concurrency
// on metadata.resourceVersion (a stale update gets 409 Conflict), the status
// subresource changing only status, and the main resource leaving status
// alone. Without it a controller writing from a stale cache would silently
// clobber newer data in the fake, which a real server never allows.
func serveLikeAPIServer(client *fake.Clientset) {
	var mu sync.Mutex
	var rv int64 = 1000
	client.PrependReactor("update", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ua := action.(k8stesting.UpdateAction)
		obj := ua.GetObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		gvr := action.GetResource()
		cur, err := client.Tracker().Get(gvr, action.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		cm, _ := meta.Accessor(cur)
		if m.GetResourceVersion() != "" && cm.GetResourceVersion() != "" && m.GetResourceVersion() != cm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		var merged runtime.Object
		if action.GetSubresource() == "status" {
			merged = cur.DeepCopyObject()
			copyStatus(merged, obj)
		} else {
			merged = obj.DeepCopyObject()
			copyStatus(merged, cur)
		}
		rv++
		mm, _ := meta.Accessor(merged)
		mm.SetResourceVersion(strconv.FormatInt(rv, 10))
		if err := client.Tracker().Update(gvr, merged, action.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, merged, nil
	})
}

// copyStatus sets dst's status to src's for the kinds with a status
// subresource that these tests write.
func copyStatus(dst, src runtime.Object) {
	switch d := dst.(type) {
	case *v1.Pod:
		d.Status = *src.(*v1.Pod).Status.DeepCopy()
	case *v1.PersistentVolumeClaim:
		d.Status = *src.(*v1.PersistentVolumeClaim).Status.DeepCopy()
	case *v1.PersistentVolume:
		d.Status = *src.(*v1.PersistentVolume).Status.DeepCopy()
	case *v1.Node:
		d.Status = *src.(*v1.Node).Status.DeepCopy()
	}
}
