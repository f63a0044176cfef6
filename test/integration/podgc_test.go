package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"

	"petset/internal/controller/podgc"
	"petset/internal/controlplane"
)

// gcPod is a pod for the pod GC tests: bound to node (if any), or kept
// unscheduled by a node selector nothing matches.
func gcPod(name, node string) *corev1.Pod {
	grace := int64(30)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
	if node == "" {
		p.Spec.NodeSelector = map[string]string{"petset.test/nowhere": "true"}
	}
	return p
}

func setPodStatus(t *testing.T, c *cluster, name string, f func(*corev1.PodStatus)) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		f(&p.Status)
		_, err = c.client.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPodGCOrphanedAndUnscheduled: pods bound to a node that does not
// exist (one of them Terminating, which no agent will ever finish) are
// marked Failed with DisruptionTarget/DeletionByPodGC and force-deleted
// after the quarantine; a pod of an existing node stays; an unscheduled
// terminating pod is marked Failed and deleted.
func TestPodGCOrphanedAndUnscheduled(t *testing.T) {
	c := startClusterWith(t, controlplane.Config{PodGC: podgc.Config{Period: 200 * time.Millisecond, Quarantine: 2 * time.Second}})
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("default")
	if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "live"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=orphan"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, p := range []*corev1.Pod{gcPod("orphan", "gone-node"), gcPod("orphan-idle", "gone-node"), gcPod("kept", "live")} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setPodStatus(t, c, p.Name, func(s *corev1.PodStatus) { s.Phase = corev1.PodRunning })
	}
	if err := pods.Delete(ctx, "orphan", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := pods.Get(ctx, "orphan", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("orphan not Terminating after a graceful delete: %v", err)
	}

	// The orphan's last update before its deletion carries the condition.
	var sawCondition bool
	timeout := time.After(60 * time.Second)
watching:
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch ended")
			}
			p, _ := ev.Object.(*corev1.Pod)
			if p == nil {
				continue
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.DisruptionTarget && cond.Status == corev1.ConditionTrue &&
					cond.Reason == podgc.ReasonDeletionByPodGC && cond.Message == podgc.MessageNodeGone && p.Status.Phase == corev1.PodFailed {
					sawCondition = true
				}
			}
			if ev.Type == watch.Deleted {
				break watching
			}
		case <-timeout:
			t.Fatal("orphan not deleted within 60s")
		}
	}
	if !sawCondition {
		t.Error("orphan was deleted without phase Failed and the DeletionByPodGC condition")
	}
	eventually(t, "the idle orphan deleted", func() (bool, error) {
		_, err := pods.Get(ctx, "orphan-idle", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	if p, err := pods.Get(ctx, "kept", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("the pod of an existing node was touched: %v %v", p, err)
	}

	// Unscheduled and terminating (a finalizer holds it).
	held := gcPod("unscheduled", "")
	held.Finalizers = []string{"petset.test/hold"}
	if _, err := pods.Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "unscheduled", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unscheduled terminating pod marked Failed", func() (bool, error) {
		p, err := pods.Get(ctx, "unscheduled", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodFailed, fmt.Errorf("phase %q", p.Status.Phase)
	})
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, "unscheduled", metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Finalizers = nil
		_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unscheduled pod gone", func() (bool, error) {
		_, err := pods.Get(ctx, "unscheduled", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

// TestPodGCTerminatedThreshold: above the threshold, terminated pods are
// collected evicted first, then oldest first; running pods never.
func TestPodGCTerminatedThreshold(t *testing.T) {
	c := startClusterWith(t, controlplane.Config{PodGC: podgc.Config{Period: 200 * time.Millisecond, TerminatedPodThreshold: 2}})
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("default")
	for _, name := range []string{"t1", "t2", "t3", "t4", "running"} {
		if _, err := pods.Create(ctx, gcPod(name, ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Terminated only once all exist, so the collector sees all four at once.
	for _, name := range []string{"t1", "t2", "t4"} {
		setPodStatus(t, c, name, func(s *corev1.PodStatus) { s.Phase = corev1.PodSucceeded })
	}
	setPodStatus(t, c, "t3", func(s *corev1.PodStatus) { s.Phase, s.Reason = corev1.PodFailed, "Evicted" })
	eventually(t, "two terminated pods left", func() (bool, error) {
		list, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var names []string
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		return strings.Join(names, ",") == "running,t2,t4", fmt.Errorf("pods %v", names)
	})
}
