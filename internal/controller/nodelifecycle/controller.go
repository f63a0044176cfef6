package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"petset/internal/logging"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coordinationinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// LeaseNamespace holds the node leases agents renew.
const LeaseNamespace = v1.NamespaceNodeLease // kube-node-lease

// Defaults, as kube-controller-manager's.
const (
	DefaultGracePeriod        = 40 * time.Second // --node-monitor-grace-period
	DefaultStartupGracePeriod = 60 * time.Second // --node-startup-grace-period
	DefaultMonitorPeriod      = 5 * time.Second  // --node-monitor-period
)

// Config tunes the controller. Zero durations take the defaults above.
type Config struct {
	// GracePeriod is how long a node may go without renewing its lease or
	// posting status before its conditions become Unknown.
	GracePeriod time.Duration
	// StartupGracePeriod replaces GracePeriod for a node that has never
	// posted a Ready condition.
	StartupGracePeriod time.Duration
	// MonitorPeriod is how often node health is checked.
	MonitorPeriod time.Duration
	// EvictionEnabled turns on deletion of pods from NoExecute-tainted nodes
	// (Kubernetes always does this; set it for Kubernetes behaviour).
	EvictionEnabled bool
	// Clock is the time source; nil means the real clock.
	Clock clock.WithTicker
}

// Controller watches node health and taints, marks pods not ready and
// evicts them. Build it with New, start it with Run.
type Controller struct {
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	leases coordinationlisters.LeaseLister
	pods   corelisters.PodLister
	podIdx cache.Indexer
	synced []cache.InformerSynced
	cfg    Config
	clock  clock.WithTicker
	ready  chan struct{}

	// health is read and written only by the monitor loop.
	health map[string]*nodeHealth
	// firstTainted remembers, per pod UID, when the monitor first saw the pod
	// under NoExecute taints that carry no time (only monitor loop).
	firstTainted map[string]time.Time
	// failovers are the automatic failovers of lost nodes in progress, by
	// node name (only monitor loop).
	failovers map[string]*failoverState
}

// nodeHealth is what the controller last saw of a node's heartbeats.
type nodeHealth struct {
	// probe is the local time the last heartbeat was observed.
	probe time.Time
	// heartbeat is the Ready condition's lastHeartbeatTime last seen.
	heartbeat metav1.Time
	// leaseRenew is the lease renewTime last seen.
	leaseRenew time.Time
}

const podsByNodeIndex = "nodelifecycle.spec.nodeName"

// New wires the controller to its informers. The caller starts the informer
// factory; Run waits for the caches.
func New(ctx context.Context, client kubernetes.Interface, nodes coreinformers.NodeInformer, leases coordinationinformers.LeaseInformer, pods coreinformers.PodInformer, cfg Config) *Controller {
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.StartupGracePeriod <= 0 {
		cfg.StartupGracePeriod = DefaultStartupGracePeriod
	}
	if cfg.MonitorPeriod <= 0 {
		cfg.MonitorPeriod = DefaultMonitorPeriod
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	c := &Controller{
		client:       client,
		nodes:        nodes.Lister(),
		leases:       leases.Lister(),
		pods:         pods.Lister(),
		cfg:          cfg,
		clock:        cfg.Clock,
		health:       map[string]*nodeHealth{},
		firstTainted: map[string]time.Time{},
		failovers:    map[string]*failoverState{},
		ready:        make(chan struct{}),
		synced:       []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced, pods.Informer().HasSynced},
	}
	// An index of pods by node; without it (the informer already started)
	// the controller filters a full list.
	err := pods.Informer().AddIndexers(cache.Indexers{podsByNodeIndex: func(obj any) ([]string, error) {
		p, ok := obj.(*v1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{p.Spec.NodeName}, nil
	}})
	if err == nil {
		c.podIdx = pods.Informer().GetIndexer()
	} else {
		logging.FromContext(ctx).Debug("pods by node index unavailable; listing all pods", logging.ErrKey, err)
	}
	return c
}

// Run waits for the caches, then checks every node each MonitorPeriod of
// Config.Clock until ctx is cancelled. It returns an error only if ctx ended
// before the caches synced. A pass that failed for some node is logged and
// done again, whole, at the next tick, as upstream's monitorNodeHealth.
func (c *Controller) Run(ctx context.Context) error {
	log := logging.FromContext(ctx).With("controller", "nodelifecycle")
	ctx = logging.IntoContext(ctx, log)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("nodelifecycle: caches did not sync: %w", context.Cause(ctx))
	}
	log.Info("controller started", "gracePeriod", c.cfg.GracePeriod, "eviction", c.cfg.EvictionEnabled)
	t := c.clock.NewTicker(c.cfg.MonitorPeriod)
	defer t.Stop()
	close(c.ready)
	for {
		if err := c.monitor(ctx); err != nil && ctx.Err() == nil {
			log.Warn("node monitor pass incomplete; retrying next period", logging.ErrKey, err)
		}
		select {
		case <-ctx.Done():
			log.Info("controller stopped")
			return nil
		case <-t.C():
		}
	}
}

// Ready is closed once Run has synced its caches and started monitoring.
func (c *Controller) Ready() <-chan struct{} { return c.ready }

// monitor runs one pass over all nodes.
func (c *Controller) monitor(ctx context.Context) error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	seen := make(map[string]bool, len(nodes))
	var errs []error
	for _, n := range nodes {
		seen[n.Name] = true
		if err := c.monitorNode(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", n.Name, err))
		}
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
	for name := range c.failovers {
		if !seen[name] {
			delete(c.failovers, name)
		}
	}
	// Forget pods that are gone (e.g. force-deleted while tainted).
	if len(c.firstTainted) > 0 {
		if pods, err := c.pods.List(labels.Everything()); err == nil {
			live := make(map[string]bool, len(pods))
			for _, p := range pods {
				live[string(p.UID)] = true
			}
			for uid := range c.firstTainted {
				if !live[uid] {
					delete(c.firstTainted, uid)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) monitorNode(ctx context.Context, node *v1.Node) error {
	log := logging.FromContext(ctx).With("node", node.Name)
	ctx = logging.IntoContext(ctx, log)
	now := c.clock.Now()
	h := c.observe(node, now)

	grace := c.cfg.GracePeriod
	if readyCondition(node) == nil {
		grace = c.cfg.StartupGracePeriod
	}
	var errs []error
	lost := now.After(h.probe.Add(grace))
	if lost {
		updated, err := c.markUnknown(ctx, node, h, now)
		if err != nil {
			errs = append(errs, err)
		} else if updated != nil {
			node = updated
		}
	}
	updated, err := c.reconcileTaints(ctx, node, now)
	if err != nil {
		errs = append(errs, err)
	} else if updated != nil {
		node = updated
	}

	pods, err := c.podsOn(node.Name)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if rc := readyCondition(node); rc != nil && rc.Status != v1.ConditionTrue {
		errs = append(errs, c.markPodsNotReady(ctx, pods, now))
	}
	if c.cfg.EvictionEnabled {
		errs = append(errs, c.evict(ctx, node, pods, now))
	}
	errs = append(errs, c.failover(ctx, node, lost, pods, now))
	return errors.Join(errs...)
}

// observe updates the node's health record: a new Ready heartbeat or a
// newer lease renewal counts as a probe now. A node seen for the first time
// gets a full grace period.
func (c *Controller) observe(node *v1.Node, now time.Time) *nodeHealth {
	var hb metav1.Time
	if rc := readyCondition(node); rc != nil {
		hb = rc.LastHeartbeatTime
	}
	var renew time.Time
	if l, err := c.leases.Leases(LeaseNamespace).Get(node.Name); err == nil {
		renew = leaseRenewTime(l)
	}
	h := c.health[node.Name]
	if h == nil {
		h = &nodeHealth{probe: now, heartbeat: hb, leaseRenew: renew}
		c.health[node.Name] = h
		return h
	}
	if !hb.IsZero() && !hb.Equal(&h.heartbeat) {
		h.heartbeat = hb
		h.probe = now
	}
	if renew.After(h.leaseRenew) {
		h.leaseRenew = renew
		h.probe = now
	}
	return h
}

func leaseRenewTime(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Time
}

func readyCondition(node *v1.Node) *v1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == v1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

func (c *Controller) podsOn(node string) ([]*v1.Pod, error) {
	if c.podIdx != nil {
		objs, err := c.podIdx.ByIndex(podsByNodeIndex, node)
		if err != nil {
			return nil, fmt.Errorf("pods by node: %w", err)
		}
		out := make([]*v1.Pod, 0, len(objs))
		for _, o := range objs {
			if p, ok := o.(*v1.Pod); ok {
				out = append(out, p)
			}
		}
		return out, nil
	}
	all, err := c.pods.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []*v1.Pod
	for _, p := range all {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out, nil
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
