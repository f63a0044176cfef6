package job

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

const (
	// trackingFinalizer keeps a job's pod until the controller counted it.
	trackingFinalizer = batchv1.JobTrackingFinalizer
	// controllerName is the spec.managedBy value of jobs this controller runs.
	controllerName = "kubernetes.io/job-controller"
	// orphanKeyPrefix marks a queue key naming a pod whose job is gone and
	// whose tracking finalizer is to be removed.
	orphanKeyPrefix = "pod:"
)

// Controller runs Jobs.
type Controller struct {
	client   kubernetes.Interface
	jobs     batchlisters.JobLister
	pods     corelisters.PodLister
	recorder record.EventRecorder
	clock    clock.Clock
	runner   *runner.Runner[string]
	expect   *expectations
}

// New wires the controller; clk nil is the real clock.
func New(client kubernetes.Interface, jobs batchinformers.JobInformer, pods coreinformers.PodInformer,
	recorder record.EventRecorder, clk clock.Clock, workers int) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{client: client, jobs: jobs.Lister(), pods: pods.Lister(), recorder: recorder, clock: clk, expect: newExpectations()}
	c.runner = runner.New(runner.Config[string]{
		Name:      "job",
		Workers:   workers,
		Reconcile: c.reconcile,
		Synced:    []cache.InformerSynced{jobs.Informer().HasSynced, pods.Informer().HasSynced},
		LogAttrs: func(key string) []any {
			if pod, ok := strings.CutPrefix(key, orphanKeyPrefix); ok {
				return []any{"pod", pod}
			}
			return []any{"job", key}
		},
	})
	enqueue := func(obj any) {
		if key, ok := runner.ObjectKey(obj); ok {
			c.runner.Enqueue(key)
		}
	}
	_, _ = jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: func(obj any) {
			if key, ok := runner.ObjectKey(obj); ok {
				c.expect.forget(key)
			}
		},
	})
	// podChanged enqueues the pod's job; added and deleting say whether the
	// event shows the pod created or its deletion begun.
	podChanged := func(obj any, added, deleting bool) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if !hasFinalizer(pod) {
			c.expect.settled(pod.UID)
		}
		if job := c.jobOf(pod); job != nil {
			key := pod.Namespace + "/" + job.Name
			if added || deleting {
				c.expect.observed(key, added)
			}
			c.runner.Enqueue(key)
		} else if hasFinalizer(pod) {
			// Its job is gone, or orphaned it: nothing will count it.
			c.runner.Enqueue(orphanKeyPrefix + pod.Namespace + "/" + pod.Name)
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { podChanged(obj, true, false) },
		UpdateFunc: func(old, obj any) {
			o, _ := old.(*corev1.Pod)
			n, _ := obj.(*corev1.Pod)
			podChanged(obj, false, o != nil && n != nil && o.DeletionTimestamp == nil && n.DeletionTimestamp != nil)
		},
		DeleteFunc: func(obj any) { podChanged(obj, false, true) },
	})
	return c
}

// Run runs jobs until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the controller works.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error) {
	if podKey, ok := strings.CutPrefix(key, orphanKeyPrefix); ok {
		return runner.Done, c.releaseOrphan(ctx, podKey)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Done, runner.Terminal(err)
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, err
	}
	if m := job.Spec.ManagedBy; m != nil && *m != controllerName {
		return runner.Done, nil
	}
	pods, err := c.ownedPods(job)
	if err != nil {
		return runner.Done, err
	}
	if finished(job) {
		if err := c.removeFinalizers(ctx, pods); err != nil {
			return runner.Done, err
		}
		return c.expire(ctx, job)
	}
	return c.sync(ctx, job.DeepCopy(), pods)
}

// ownedPods are the pods the job's selector matches whose controller is
// the job.
func (c *Controller) ownedPods(job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, runner.Terminal(fmt.Errorf("selector: %w", err))
	}
	if sel.Empty() {
		sel = labels.Nothing()
	}
	all, err := c.pods.Pods(job.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var owned []*corev1.Pod
	for _, p := range all {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == job.UID {
			owned = append(owned, p)
		}
	}
	return owned, nil
}

// releaseOrphan removes the tracking finalizer of a pod whose job is gone
// (or was replaced by another of the same name).
func (c *Controller) releaseOrphan(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return runner.Terminal(err)
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.jobOf(pod) != nil || !hasFinalizer(pod) {
		return nil
	}
	logging.FromContext(ctx).Debug("removing the tracking finalizer of a pod whose job is gone")
	return c.removeFinalizers(ctx, []*corev1.Pod{pod})
}

// jobOf is the cached job controlling pod, or nil.
func (c *Controller) jobOf(pod *corev1.Pod) *batchv1.Job {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "Job" || !strings.HasPrefix(ref.APIVersion, batchv1.GroupName+"/") {
		return nil
	}
	if job, err := c.jobs.Jobs(pod.Namespace).Get(ref.Name); err == nil && job.UID == ref.UID {
		return job
	}
	return nil
}
