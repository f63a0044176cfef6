package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fieldsel "k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"petset/internal/agent/image"
	"petset/internal/agent/objcache"
	"petset/internal/agent/probe"
	"petset/internal/agent/runtime"
	"petset/internal/agent/token"
	"petset/internal/agent/volume"
	"petset/internal/apiclient"
	"petset/internal/fencing"
	"petset/internal/logging"
	"petset/internal/pvnode"
)

// imageResolver turns an image and a container's command and args into
// what to execute; *image.Catalog satisfies it.
type imageResolver interface {
	Resolve(image string, command, args []string) (image.Resolved, error)
}

// Clock is what the agent needs of a clock; k8s.io/utils/clock's real and
// fake clocks satisfy it.
type Clock interface {
	clock.WithDelayedExecution
}

// DefaultStatusUpdateFrequency is how often node status is computed unless
// Config says otherwise (kubelet's --node-status-update-frequency).
const DefaultStatusUpdateFrequency = 10 * time.Second

// Config wires an Agent.
type Config struct {
	NodeName string
	Client   kubernetes.Interface
	// Heartbeat renews the node lease and posts node status: a client
	// whose requests time out, as kubelet's heartbeat client, so that a
	// server that stops answering (paused, or gone without a reset) holds
	// a renewal up for that long at most. nil means Client.
	Heartbeat kubernetes.Interface
	Runtime   runtime.Runtime
	// Images resolves images; nil runs each container's command and args
	// as given, or the image name when it has neither (suitable for
	// simulated nodes, whose runtime runs nothing).
	Images imageResolver
	// Prober runs containers' probes; nil probes for real (httpGet,
	// tcpSocket, exec through Runtime). Simulated nodes answer probes from
	// their runtime (probe.ByContainer).
	Prober probe.Runner
	// CutOff, when set, reports whether the Node object tells the agent to
	// behave as cut off from the API: no lease renewal, no node or pod
	// status, pods left Terminating (simulated nodes: fake.CutOff).
	CutOff func(*corev1.Node) bool
	// NodeIP is the node's InternalIP; pods' hostIP.
	NodeIP string
	// Capacity overrides the detected capacity per resource (cpu, memory,
	// pods, ephemeral-storage).
	Capacity corev1.ResourceList
	// CapacityOnly reports Capacity as the node's whole capacity (and
	// allocatable), detecting nothing from the host: simulated nodes.
	CapacityOnly bool
	// VolumesOffDisk sets pods' volumes (and the /etc/hosts file a pod
	// mounts) up without touching the disk (volume.Config.Simulated):
	// simulated nodes, whose pods run nothing.
	VolumesOffDisk bool
	// WarningEventsOnly records only Warning events about pods (failed
	// mounts, pulls and starts, back-offs, failed probes), not the Normal
	// ones that narrate work done (Pulling, Pulled, Created, Started,
	// Killing): simulated nodes, which do none of it — kwok's pods record
	// no events at all — and three events per pod were a seventh of the
	// API requests of a simulated rollout.
	WarningEventsOnly bool
	// Labels are added to the Node's labels.
	Labels map[string]string
	// Annotations are set on the Node (e.g. petset.io/cluster-dns, where
	// the node's cluster DNS answers).
	Annotations map[string]string
	// Role, when set, labels the node node-role.kubernetes.io/<Role>.
	Role   string
	Taints []corev1.Taint
	// VolumeDir is where this node keeps provisioned volumes (absolute).
	VolumeDir string
	// SharedVolumeDir is the shared volume root this node reaches ("" for
	// none; internal/sharedvolume). The caller labels the Node with its ID.
	SharedVolumeDir string
	// PodsDir holds per-pod directories; default <VolumeDir>/../pods.
	PodsDir string
	DNS     DNS
	PodCIDR string
	// KubernetesService is host:port where pods reach the API server (the
	// node's relay); containers get it as KUBERNETES_SERVICE_HOST/PORT.
	// Empty sets no such variables.
	KubernetesService string
	// StreamingPort is published as daemonEndpoints.kubeletEndpoint.Port.
	StreamingPort int32
	// StatusUpdateFrequency is how often node status is computed (default
	// 10s); it is posted when it changed or StatusReportFrequency (default
	// 1m) passed since the last post.
	StatusUpdateFrequency time.Duration
	StatusReportFrequency time.Duration
	// LeaseDuration is the lease's leaseDurationSeconds (default 40s); the
	// lease is renewed every quarter of it.
	LeaseDuration time.Duration
	// Fence, when set, gates the pods' network: their traffic passes only
	// while the agent keeps confirming them with the API (fencing.go,
	// docs/fencing.md); FenceTimeout (required then) is how long one
	// confirmation lasts. The Node then carries petset.io/fence-timeout.
	Fence        fenceTable
	FenceTimeout time.Duration
	// ResyncPeriod is how often every pod is re-synced as a safety net
	// (default 1m, kubelet's --sync-frequency); changes arrive by events.
	ResyncPeriod time.Duration
	// Version is reported as nodeInfo.kubeletVersion (default v1.37.2).
	Version string
	// Clock drives timers (restart back-off, probes, heartbeats); nil
	// means the real clock.
	Clock  Clock
	Logger *slog.Logger
}

// Agent is one node's agent.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	clock   Clock
	client  kubernetes.Interface
	rt      runtime.Runtime
	volumes *volume.Manager
	probes  *probe.Manager
	fields  fields

	// Events: kubelet's reasons and messages, aggregated by the
	// broadcaster's correlator; mountBackoff spaces volume set-up retries
	// per pod UID as kubelet's volume operations are (500ms doubling to
	// 2m2s).
	events       record.EventBroadcaster
	recorder     record.EventRecorder
	mountBackoff *flowcontrol.Backoff
	// restartBackoff is kubelet's CrashLoopBackOff per pod UID and
	// container, pullBackoff its image pull back-off per pod UID and
	// image: 10s doubling to 5m, forgotten after 10m without a step.
	restartBackoff *flowcontrol.Backoff
	pullBackoff    *flowcontrol.Backoff

	podFactory informers.SharedInformerFactory
	pvFactory  informers.SharedInformerFactory
	pods       cache.SharedIndexInformer
	podLister  corelisters.PodLister
	pvLister   corelisters.PersistentVolumeLister
	// objects follows the ConfigMaps and Secrets the node's pods name.
	objects objectCache

	queue   *workqueue.Typed[types.UID]
	pvQueue *workqueue.Typed[string]
	ready   chan struct{}

	mu            sync.Mutex
	workers       map[types.UID]*podWorker
	ids           identities
	nodeUID       types.UID
	fence         fenceState
	stopHeartbeat bool
	// heartbeatChanged tells the lease loop that stopHeartbeat changed;
	// leaseRunning is whether the lease controller runs.
	heartbeatChanged chan struct{}
	leaseRunning     bool
	wg               sync.WaitGroup
}

// New wires an agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if cfg.NodeName == "" || cfg.Client == nil || cfg.Runtime == nil {
		return nil, errors.New("agent: NodeName, Client and Runtime are required")
	}
	if !filepath.IsAbs(cfg.VolumeDir) {
		return nil, fmt.Errorf("agent: VolumeDir %q must be an absolute path", cfg.VolumeDir)
	}
	if cfg.PodsDir == "" {
		cfg.PodsDir = filepath.Join(filepath.Dir(cfg.VolumeDir), "pods")
	}
	if cfg.DNS.ClusterDomain == "" {
		cfg.DNS.ClusterDomain = "cluster.local"
	}
	if cfg.StatusUpdateFrequency <= 0 {
		cfg.StatusUpdateFrequency = DefaultStatusUpdateFrequency
	}
	if cfg.Heartbeat == nil {
		cfg.Heartbeat = cfg.Client
	}
	if cfg.StatusReportFrequency <= 0 {
		cfg.StatusReportFrequency = time.Minute
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = 40 * time.Second
	}
	if cfg.Fence != nil && cfg.FenceTimeout <= 0 {
		return nil, errors.New("agent: a Fence needs a positive FenceTimeout")
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = time.Minute
	}
	if cfg.Version == "" {
		cfg.Version = "v1.37.2"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Agent{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "agent", "node", cfg.NodeName),
		clock:   cfg.Clock,
		client:  cfg.Client,
		rt:      cfg.Runtime,
		ready:   make(chan struct{}),
		workers: map[types.UID]*podWorker{},
		queue:   workqueue.NewTyped[types.UID](),
		pvQueue: workqueue.NewTyped[string](),

		heartbeatChanged: make(chan struct{}, 1),
	}
	a.fence.closed = true // until a first confirmation
	a.fence.revoked = map[types.UID]bool{}
	a.fence.admitted = map[types.UID]netip.Addr{}
	if cfg.Fence != nil {
		ann := map[string]string{fencing.FenceTimeoutAnnotation: fencing.FormatTimeout(cfg.FenceTimeout)}
		for k, v := range cfg.Annotations {
			ann[k] = v
		}
		a.cfg.Annotations = ann
	}
	a.fields = fields{allocatable: a.capacity()}
	a.events, a.recorder = newEventBroadcaster(cfg.NodeName)
	a.mountBackoff = flowcontrol.NewBackOff(mountBackoffInitial, mountBackoffMax)
	a.mountBackoff.Clock = cfg.Clock
	a.restartBackoff = flowcontrol.NewBackOff(backoffInitial, backoffMax)
	a.restartBackoff.Clock = cfg.Clock
	a.pullBackoff = flowcontrol.NewBackOff(backoffInitial, backoffMax)
	a.pullBackoff.Clock = cfg.Clock

	a.podFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithTransform(apiclient.DropManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fieldsel.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	// The PersistentVolumes pinned to this node are watched for the
	// reclaim of its local volumes (only those: a watch of every volume
	// costs each node a decoded copy of the cluster's volumes);
	// ConfigMaps, Secrets and claims are read one by one, by name, when a
	// pod needs them (the Node authorizer lets a node read only those of
	// its own pods).
	a.pvFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithTransform(apiclient.DropManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = pvnode.Selector(cfg.NodeName) }))
	a.pods = a.podFactory.Core().V1().Pods().Informer()
	if err := a.pods.AddIndexers(cache.Indexers{"uid": func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return []string{string(p.UID)}, nil
	}}); err != nil {
		return nil, fmt.Errorf("agent: pod index: %w", err)
	}
	a.podLister = a.podFactory.Core().V1().Pods().Lister()
	a.pvLister = a.pvFactory.Core().V1().PersistentVolumes().Lister()
	a.objects = objcache.New(a.client)

	vm, err := volume.New(volume.Config{
		NodeName:  cfg.NodeName,
		VolumeDir: cfg.VolumeDir,
		SharedDir: cfg.SharedVolumeDir,
		PodsDir:   cfg.PodsDir,
		Objects:   apiObjects{a},
		Fields:    a.fields,
		Tokens:    token.New(cfg.Client),
		Simulated: cfg.VolumesOffDisk,
		Client:    cfg.Client,
		// Every resync rewrites projected files from the objects (as
		// kubelet's periodic sync remounts them); the syncs a pod's own
		// status changes cause in between read nothing.
		RefreshPeriod: cfg.ResyncPeriod / 2,
		Now:           a.clock.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.volumes = vm

	runner := cfg.Prober
	if runner == nil {
		runner = probe.NewProber(cfg.Runtime)
	}
	a.probes = probe.NewManager(runner, cfg.Clock, func(uid string) { a.queue.Add(types.UID(uid)) }).
		WithFailures(a.probeFailed)
	return a, nil
}

// objectCache is the agent's view of the ConfigMaps and Secrets its pods
// name (objcache.Cache).
type objectCache interface {
	Register(pod *corev1.Pod)
	Unregister(uid types.UID)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	Stop()
}

// apiObjects reads the objects a pod refers to: ConfigMaps and Secrets
// from the watches of the node's object cache (kubelet's default "Watch"
// managers), claims and volumes from the API server by name.
type apiObjects struct{ a *Agent }

// objectTimeout bounds one read of a pod's object.
const objectTimeout = 30 * time.Second

func (o apiObjects) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return o.a.objects.ConfigMap(ctx, ns, name)
}
func (o apiObjects) Secret(ns, name string) (*corev1.Secret, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return o.a.objects.Secret(ctx, ns, name)
}
func (o apiObjects) PersistentVolumeClaim(ns, name string) (*corev1.PersistentVolumeClaim, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return o.a.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
}
func (o apiObjects) PersistentVolume(name string) (*corev1.PersistentVolume, error) {
	if pv, err := o.a.pvLister.Get(name); err == nil {
		return pv, nil
	}
	// The cache may lag a volume bound a moment ago.
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return o.a.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
}

// Ready is closed once the node is registered, the caches are synced and
// the pods already running on the node have been adopted.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Runtime returns the runtime the agent runs pods with.
func (a *Agent) Runtime() runtime.Runtime { return a.rt }

// NodeName returns the agent's node name.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Run registers the node and runs pods until ctx is cancelled. Pods keep
// running when Run returns; a new agent adopts them.
func (a *Agent) Run(ctx context.Context) error {
	defer a.objects.Stop()
	defer a.queue.ShutDown()
	defer a.pvQueue.ShutDown()
	sink := a.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer a.events.Shutdown()
	defer sink.Stop()

	if err := a.registerUntilDone(ctx); err != nil {
		return err
	}
	type registration struct {
		inf cache.SharedIndexInformer
		reg cache.ResourceEventHandlerRegistration
	}
	var regs []registration
	defer func() {
		for _, r := range regs {
			_ = r.inf.RemoveEventHandler(r.reg)
		}
	}()
	handle := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			return fmt.Errorf("agent: adding event handler: %w", err)
		}
		regs = append(regs, registration{inf, reg})
		return nil
	}
	if err := handle(a.pods, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.enqueuePod(obj) },
		UpdateFunc: func(_, obj any) { a.enqueuePod(obj) },
		DeleteFunc: func(obj any) { a.enqueuePod(obj) },
	}); err != nil {
		return err
	}
	if err := handle(a.pvFactory.Core().V1().PersistentVolumes().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.enqueuePV(obj) },
		UpdateFunc: func(_, obj any) { a.enqueuePV(obj) },
	}); err != nil {
		return err
	}
	a.podFactory.Start(ctx.Done())
	a.pvFactory.Start(ctx.Done())
	defer a.podFactory.Shutdown()
	defer a.pvFactory.Shutdown()
	for typ, ok := range a.podFactory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("agent: cache of %v did not sync: %w", typ, ctx.Err())
		}
	}
	for typ, ok := range a.pvFactory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("agent: cache of %v did not sync: %w", typ, ctx.Err())
		}
	}

	// The fence first: installed (keeping what a previous agent allowed)
	// and confirmed once before any pod is started or adopted.
	if a.cfg.Fence != nil {
		if err := a.cfg.Fence.Ensure(); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		if a.confirm(ctx); !a.confirmedOnce() {
			a.log.Info("fence closed until the API confirms the node's pods; they wait for it", "fenceTimeout", a.cfg.FenceTimeout)
		}
	}

	// Adopt what the runtime still runs: each sandbox gets a worker, which
	// either continues the pod or tears the sandbox down.
	sandboxes, err := a.rt.ListSandboxes(ctx)
	if err != nil {
		return fmt.Errorf("agent: listing sandboxes: %w", err)
	}
	for _, sb := range sandboxes {
		a.ids.hold(identityKey(sb.Namespace, sb.Name), types.UID(sb.UID))
		a.queue.Add(types.UID(sb.UID))
	}
	if dirs, err := a.volumes.PodDirs(); err == nil {
		for _, uid := range dirs {
			a.queue.Add(uid)
		}
	}
	a.enqueueAll()

	var loops sync.WaitGroup
	run := func(f func(context.Context)) {
		loops.Add(1)
		go func() { defer loops.Done(); f(ctx) }()
	}
	run(a.dispatch)
	run(a.runtimeEvents)
	run(a.resync)
	run(a.nodeStatusLoop)
	run(a.leaseLoop)
	run(a.reconcilePVs)
	if a.cfg.Fence != nil {
		run(a.fenceLoop)
	}
	close(a.ready)
	a.log.Info("agent ready", "sandboxesAdopted", len(sandboxes))

	<-ctx.Done()
	a.queue.ShutDown()
	a.pvQueue.ShutDown()
	loops.Wait()
	a.wg.Wait()
	a.probes.Wait()
	return nil
}

func (a *Agent) enqueuePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok {
		a.queue.Add(p.UID)
	}
}

func (a *Agent) enqueuePV(obj any) {
	if pv, ok := obj.(*corev1.PersistentVolume); ok && pvnode.Of(pv) == a.cfg.NodeName {
		a.pvQueue.Add(pv.Name)
	}
}

// enqueueAll queues every pod bound to the node and every worker.
func (a *Agent) enqueueAll() {
	for _, obj := range a.pods.GetStore().List() {
		if p, ok := obj.(*corev1.Pod); ok {
			a.queue.Add(p.UID)
		}
	}
	a.mu.Lock()
	uids := make([]types.UID, 0, len(a.workers))
	for uid := range a.workers {
		uids = append(uids, uid)
	}
	a.mu.Unlock()
	for _, uid := range uids {
		a.queue.Add(uid)
	}
}

func (a *Agent) resync(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.clock.After(a.cfg.ResyncPeriod):
			a.enqueueAll()
		}
	}
}

func (a *Agent) runtimeEvents(ctx context.Context) {
	ch := a.rt.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-ch:
			if ev.PodUID != "" {
				a.queue.Add(types.UID(ev.PodUID))
			}
		}
	}
}

func (a *Agent) reconcilePVs(ctx context.Context) {
	for {
		name, shutdown := a.pvQueue.Get()
		if shutdown {
			return
		}
		pv, err := a.pvLister.Get(name)
		if err == nil {
			if err := a.volumes.ReconcilePV(ctx, pv); err != nil {
				a.log.Warn("reclaiming volume", "pv", name, logging.ErrKey, err)
				a.clock.AfterFunc(5*time.Second, func() { a.pvQueue.Add(name) })
			}
		}
		a.pvQueue.Done(name)
	}
}

// podByUID returns the pod bound to this node with uid, or nil.
func (a *Agent) podByUID(uid types.UID) *corev1.Pod {
	objs, err := a.pods.GetIndexer().ByIndex("uid", string(uid))
	if err != nil {
		return nil
	}
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok && p.Spec.NodeName == a.cfg.NodeName {
			return p
		}
	}
	return nil
}

// ContainerID returns the runtime ID of a container of a pod on this node:
// its current instance, or with previous the one before it. It is what the
// streaming endpoints (logs, exec, attach) use.
func (a *Agent) ContainerID(namespace, pod, container string, previous bool) (string, error) {
	p, err := a.podLister.Pods(namespace).Get(pod)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("pod %s/%s is not on node %s: %w", namespace, pod, a.cfg.NodeName, runtime.ErrNotFound)
		}
		return "", fmt.Errorf("pod %s/%s: %w", namespace, pod, err)
	}
	list, err := a.rt.ListContainers(context.TODO(), string(p.UID))
	if err != nil {
		return "", fmt.Errorf("listing containers of %s/%s: %w", namespace, pod, err)
	}
	var mine []runtime.ContainerStatus
	for _, c := range list {
		if c.Name == container {
			mine = append(mine, c)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Attempt > mine[j].Attempt })
	idx := 0
	if previous {
		idx = 1
	}
	if len(mine) <= idx {
		what := "container"
		if previous {
			what = "previous terminated container"
		}
		return "", fmt.Errorf("%s %q in pod %q not found: %w", what, container, pod, runtime.ErrNotFound)
	}
	return mine[idx].ID, nil
}
