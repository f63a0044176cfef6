package podgc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Defaults, as kube-controller-manager's.
const (
	DefaultPeriod                 = 20 * time.Second // gcCheckPeriod
	DefaultQuarantine             = 40 * time.Second // quarantineTime
	DefaultTerminatedPodThreshold = 12500            // --terminated-pod-gc-threshold
)

// The condition an orphaned pod gets before it is deleted (kube's).
const (
	ReasonDeletionByPodGC = "DeletionByPodGC"
	MessageNodeGone       = "PodGC: node no longer exists"
)

// Config tunes the collector. Zero values take the defaults above.
type Config struct {
	// Period is how often pods are collected (after a pass, or after a
	// failed one).
	Period time.Duration
	// Quarantine is how long a node must be missing before its pods go.
	Quarantine time.Duration
	// TerminatedPodThreshold is how many terminated pods are kept; a
	// negative value keeps all of them (kube's 0).
	TerminatedPodThreshold int
	// Clock is the time of the quarantine and of the conditions set; nil
	// means the real clock. The period is real time (the runner's queue).
	Clock clock.PassiveClock
}

// passKey is the one key of the runner's queue: a pass over every pod.
const passKey = "pass"

// Controller collects pods. Build it with New, start it with Run.
type Controller struct {
	client kubernetes.Interface
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	cfg    Config
	runner *runner.Runner[string]

	// missingSince is when a pod's node was first seen missing (read and
	// written by reconcile only, which the runner never runs twice at once
	// for the one key).
	missingSince map[string]time.Time
}

// New wires the collector to its informers. The caller starts the informer
// factory; Run waits for the caches.
func New(client kubernetes.Interface, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, cfg Config) *Controller {
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	if cfg.TerminatedPodThreshold == 0 {
		cfg.TerminatedPodThreshold = DefaultTerminatedPodThreshold
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	c := &Controller{
		client: client, pods: pods.Lister(), nodes: nodes.Lister(), cfg: cfg,
		missingSince: map[string]time.Time{},
	}
	c.runner = runner.New(runner.Config[string]{
		Name:      "podgc",
		Workers:   1, // one key: a second worker would have nothing to do
		Reconcile: c.reconcile,
		Synced:    []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		// A failed pass is tried again the next period, not sooner.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](cfg.Period, cfg.Period),
		LogAttrs:    func(string) []any { return nil },
	})
	c.runner.Enqueue(passKey) // the first pass as soon as the caches have synced
	return c
}

// Run waits for the caches, then collects every Period until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and collecting started.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile runs one pass and the next after Period; a failed pass is
// logged by the runner and tried again after Period too.
func (c *Controller) reconcile(ctx context.Context, _ string) (runner.Result, error) {
	if err := c.gc(ctx); err != nil {
		return runner.Done, fmt.Errorf("pod GC pass incomplete: %w", err)
	}
	return runner.RequeueAfter(c.cfg.Period), nil
}

// gc runs one pass, in kube's order.
func (c *Controller) gc(ctx context.Context) error {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var errs []error
	if c.cfg.TerminatedPodThreshold > 0 {
		errs = append(errs, c.gcTerminated(ctx, pods))
	}
	errs = append(errs, c.gcOutOfService(ctx, pods), c.gcOrphaned(ctx, pods, nodes), c.gcUnscheduledTerminating(ctx, pods))
	return errors.Join(errs...)
}

func isTerminated(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

func isEvicted(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodFailed && p.Status.Reason == "Evicted"
}

// gcTerminated deletes the terminated pods above the threshold: evicted
// ones first, then by creation time, then by name.
func (c *Controller) gcTerminated(ctx context.Context, pods []*v1.Pod) error {
	var terminated []*v1.Pod
	for _, p := range pods {
		if isTerminated(p) {
			terminated = append(terminated, p)
		}
	}
	n := len(terminated) - c.cfg.TerminatedPodThreshold
	if n <= 0 {
		return nil
	}
	logging.FromContext(ctx).Info("garbage collecting terminated pods", "count", n)
	sort.Slice(terminated, func(i, j int) bool {
		a, b := terminated[i], terminated[j]
		if ea, eb := isEvicted(a), isEvicted(b); ea != eb {
			return ea
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
	var errs []error
	for _, p := range terminated[:n] {
		errs = append(errs, c.failAndDelete(ctx, p, nil))
	}
	return errors.Join(errs...)
}

// gcOutOfService force-deletes terminating pods of a node that is not
// Ready and carries the node.kubernetes.io/out-of-service taint: an
// operator's word that the node is down for good (kube's non-graceful node
// shutdown), so a StatefulSet's pod can be re-created elsewhere.
func (c *Controller) gcOutOfService(ctx context.Context, pods []*v1.Pod) error {
	var doomed []*v1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil || isTerminated(p) || p.Spec.NodeName == "" {
			continue
		}
		n, err := c.nodes.Get(p.Spec.NodeName)
		if err != nil || nodeReady(n) || !outOfService(n) {
			continue
		}
		doomed = append(doomed, p)
	}
	var errs []error
	for _, p := range doomed {
		logging.FromContext(ctx).Info("deleting terminating pod of an out-of-service node", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName)
		errs = append(errs, c.failAndDelete(ctx, p, nil))
	}
	return errors.Join(errs...)
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func outOfService(n *v1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == v1.TaintNodeOutOfService {
			return true
		}
	}
	return false
}

// gcOrphaned deletes the pods of nodes missing for the quarantine period
// and confirmed gone by a GET.
func (c *Controller) gcOrphaned(ctx context.Context, pods []*v1.Pod, nodes []*v1.Node) error {
	exists := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		exists[n.Name] = true
	}
	now := c.cfg.Clock.Now()
	wanted := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName == "" || exists[p.Spec.NodeName] {
			continue
		}
		wanted[p.Spec.NodeName] = true
		if _, ok := c.missingSince[p.Spec.NodeName]; !ok {
			c.missingSince[p.Spec.NodeName] = now
		}
	}
	gone := map[string]bool{}
	var errs []error
	for name, since := range c.missingSince {
		if !wanted[name] {
			delete(c.missingSince, name) // the node came back, or its pods went
			continue
		}
		if now.Sub(since) < c.cfg.Quarantine {
			continue
		}
		_, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone[name] = true
		case err != nil:
			errs = append(errs, fmt.Errorf("get node %s: %w", name, err))
		default:
			delete(c.missingSince, name) // the cache lagged: it exists
		}
	}
	cond := &v1.PodCondition{Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: ReasonDeletionByPodGC, Message: MessageNodeGone}
	for _, p := range pods {
		if !gone[p.Spec.NodeName] {
			continue
		}
		logging.FromContext(ctx).Info("deleting orphaned pod: its node no longer exists", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName)
		errs = append(errs, c.failAndDelete(ctx, p, cond))
	}
	return errors.Join(errs...)
}

// gcUnscheduledTerminating deletes terminating pods never bound to a node.
func (c *Controller) gcUnscheduledTerminating(ctx context.Context, pods []*v1.Pod) error {
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName != "" {
			continue
		}
		logging.FromContext(ctx).Info("deleting unscheduled terminating pod", "pod", p.Namespace+"/"+p.Name)
		errs = append(errs, c.failAndDelete(ctx, p, nil))
	}
	return errors.Join(errs...)
}

// failAndDelete moves a pod that has not finished to phase Failed (with
// cond, if any) and force-deletes it, as kube's markFailedAndDeletePod.
// A pod already gone is no error.
func (c *Controller) failAndDelete(ctx context.Context, p *v1.Pod, cond *v1.PodCondition) error {
	if !isTerminated(p) {
		next := p.DeepCopy()
		next.Status.Phase = v1.PodFailed
		if cond != nil {
			setCondition(&next.Status, *cond, c.cfg.Clock.Now())
		}
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("mark pod %s/%s failed: %w", p.Namespace, p.Name, err)
		}
	}
	zero := int64(0)
	uid := p.UID
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// setCondition sets cond in st, keeping its transition time when the
// status does not change (as kube's UpdatePodCondition).
func setCondition(st *v1.PodStatus, cond v1.PodCondition, now time.Time) {
	cond.LastTransitionTime = metav1.NewTime(now)
	for i := range st.Conditions {
		if st.Conditions[i].Type != cond.Type {
			continue
		}
		if st.Conditions[i].Status == cond.Status {
			cond.LastTransitionTime = st.Conditions[i].LastTransitionTime
		}
		st.Conditions[i] = cond
		return
	}
	st.Conditions = append(st.Conditions, cond)
}
