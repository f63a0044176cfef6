package scheduler

import (
	"context"
	"errors"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

var errTest = errors.New("etcd is not answering")

// startWithBindHook runs a scheduler whose binding writes first call hook
// with the pod's name (outside the fake clientset's lock, so a hook may
// block); a non-nil error fails the write as the API server would.
func startWithBindHook(t *testing.T, hook func(pod string) error, objs ...runtime.Object) *harness {
	t.Helper()
	return startSchedulerWith(t, func(c *fake.Clientset) kubernetes.Interface { return hookedClient{c, hook} }, objs...)
}

type hookedClient struct {
	*fake.Clientset
	hook func(pod string) error
}

func (c hookedClient) CoreV1() typedcorev1.CoreV1Interface {
	return hookedCore{c.Clientset.CoreV1(), c.hook}
}

type hookedCore struct {
	typedcorev1.CoreV1Interface
	hook func(pod string) error
}

func (c hookedCore) Pods(ns string) typedcorev1.PodInterface {
	return hookedPods{c.CoreV1Interface.Pods(ns), c.hook}
}

type hookedPods struct {
	typedcorev1.PodInterface
	hook func(pod string) error
}

func (p hookedPods) Bind(ctx context.Context, b *v1.Binding, opts metav1.CreateOptions) error {
	if err := p.hook(b.Name); err != nil {
		return err
	}
	return p.PodInterface.Bind(ctx, b, opts)
}

// The next pod is decided while a binding is in flight, and the pod being
// bound already counts on its node: with room for one pod per node, the
// second pod goes to the other node while the first one's binding waits.
func TestNextPodDecidedWhileBinding(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	first := make(chan string, 1)
	hook := func(pod string) error {
		held := false
		once.Do(func() { first <- pod; held = true })
		if held {
			<-release
		}
		return nil
	}
	h := startWithBindHook(t, hook,
		newNode("node1", withAllocatable(v1.ResourcePods, "1")),
		newNode("node2", withAllocatable(v1.ResourcePods, "1")),
		newPod("a"))
	held := <-first
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	if _, err := h.client.CoreV1().Pods("default").Create(h.ctx, newPod("b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if held != "a" {
		t.Fatalf("first binding was for %s, want a", held)
	}
	nodeB := h.waitBound("b") // while a's binding is held
	if p := h.pod("a"); p.Spec.NodeName != "" {
		t.Fatalf("a bound to %s before its binding was released", p.Spec.NodeName)
	}
	close(release)
	nodeA := h.waitBound("a")
	if nodeA == nodeB {
		t.Fatalf("both pods on %s, which has room for one", nodeA)
	}
}

// A binding the API server fails says why in an event and is retried after
// the pod's back-off.
func TestFailedBindingIsRetried(t *testing.T) {
	var mu sync.Mutex
	failures := 2
	hook := func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return apierrors.NewInternalError(errTest)
		}
		return nil
	}
	h := startWithBindHook(t, hook, newNode("node1", withAllocatable(v1.ResourcePods, "1")), newPod("web-0"))
	if got := h.waitBound("web-0"); got != "node1" {
		t.Fatalf("bound to %s", got)
	}
	h.waitEvent("web-0", "FailedScheduling", "Binding rejected")
	mu.Lock()
	defer mu.Unlock()
	if failures != 0 {
		t.Fatalf("%d rejections left: bound without retrying", failures)
	}
}

// A binding rejected because the pod is gone frees the node the pod was
// assumed on: with room for one pod, the next pod gets it.
func TestRejectedBindingFreesTheNode(t *testing.T) {
	tried := make(chan struct{})
	var once sync.Once
	hook := func(pod string) error {
		if pod != "a" {
			return nil
		}
		defer once.Do(func() { close(tried) })
		return apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, pod)
	}
	h := startWithBindHook(t, hook, newNode("node1", withAllocatable(v1.ResourcePods, "1")), newPod("a"))
	<-tried
	if _, err := h.client.CoreV1().Pods("default").Create(h.ctx, newPod("b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := h.waitBound("b"); got != "node1" {
		t.Fatalf("bound to %s", got)
	}
}
