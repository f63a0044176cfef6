// Package scheduler is petset's default-scheduler: it binds pending pods to
// nodes through the pods/binding subresource, the way kube-scheduler does.
//
// It owns choosing a node for every pod whose spec.schedulerName is empty or
// "default-scheduler", that has no spec.nodeName and is not terminating
// (pods with scheduling gates get PodScheduled=False/SchedulingGated and
// wait for the gates to go). Filters (filter.go): node Ready and schedulable, taints
// against tolerations, nodeSelector and required node affinity, free host
// ports, resource requests against allocatable, required pod affinity and
// anti-affinity (including existing pods' anti-affinity), and volumes
// (volumes.go). Scores (score.go): preferred node affinity, preferred pod
// (anti-)affinity, spreading pods of one owner, least-requested resources,
// PreferNoSchedule taints; ties are broken at random.
//
// Volumes and the split with the volume controller (package
// internal/controller/volume): a pod whose claims are bound may only go
// where the bound PVs' node affinity allows. An unbound claim of an
// Immediate class makes the pod unschedulable ("pod has unbound immediate
// PersistentVolumeClaims") until the volume controller binds it. For an
// unbound claim of a WaitForFirstConsumer class (a claim without a class is
// judged by the class the volume controller will give it: none if a
// class-less volume matches, else the default class) a node qualifies when an
// Available PV that matches the claim allows it, or when the class has a
// provisioner and its allowed topologies admit the node. Once a node is
// chosen the scheduler pre-binds the matching PV (sets its spec.claimRef, as
// upstream's volume binder does) or, for a claim no PV matched, writes the
// claim's volume.kubernetes.io/selected-node annotation (only those: the
// annotation asks for provisioning); it does not bind the pod yet.
// The volume controller completes the binding or provisions a volume on that
// node; when the claim turns Bound the pod is retried and, now restricted by
// the new PV's node affinity, bound to that node. Meanwhile the pod holds the
// chosen node (other pods are placed around it). A selected node that no
// longer exists or is not Ready while the claim is still unbound does not
// hold the claim: it may be given another node. A pod that fits no node
// while one of its bound volumes is pinned to a node that is not Ready or
// gone also gets petset's own Warning event VolumeNodeLost (lostvolume.go),
// beside kube's FailedScheduling: the data is on that node only, and what
// the user can do.
//
// It does not own: preemption (none is implemented; the unschedulable message
// says so in upstream's words), the PodScheduled=True condition (the binding
// subresource sets it), or volume binding itself.
//
// Concurrency: the active queue is the shared controller runner
// (internal/controller/runner), keyed by pod (namespace/name, "pod" in the
// per-item logger), with one worker in the control plane, so pods are
// decided one at a time against one view of the cluster. A decision's API
// writes (pre-binding volumes or asking for them, then the binding) run in a
// goroutine of their own, as kube-scheduler's binding cycle, at most 64 at
// once: the pod counts on its node from the decision on (assumed, or
// reserved while its volumes bind), the next pod is decided meanwhile, and
// an attempt for a pod whose writes are still in flight only marks it to be
// tried again when they end. A write that failed on the API gives the node
// back and retries the pod after its back-off (100ms doubling to 10s). The control plane starts the informers; Run waits for their caches.
// Pods bound but not yet seen bound by the informer are kept as "assumed" so
// the next decision accounts for them. The view of the cluster each attempt
// decides on is a snapshot of a cache (cache.go) that the pod and node event
// handlers keep per node (pods counting on it, their summed requests, those
// with pod affinity terms, counts by controller), as upstream's scheduler
// cache does: an attempt costs O(nodes), plus the nodes that changed since
// the last one, instead of listing and summing every pod. What differs from
// a controller, as kube-scheduler's queue differs (its unschedulable pods
// pool): a pod that does not fit is not an error to retry but is parked
// (parking.go) with its own per-pod exponential back-off, and requeued only
// when nodes, namespaces, pods, its claims, volumes or classes change; a pod
// holding a node while its claims bind is parked too, and requeued only when
// its claims or nodes change (another pod's binding cannot undo its place).
// Both wait at the latest five minutes, as upstream. Claims are indexed to
// the parked pods that use them, so a claim's change costs its own pods, not
// a scan of every parked pod. An attempt during which an event it would
// have waited for came requeues at once (after the back-off); the
// selected-node annotation this scheduler writes is no such event, nor the
// volume controller's first binding write (volume named, claim not Bound). The
// parked, assumed and reserved maps are guarded by a mutex shared with the
// event handlers; parking puts keys back through the runner.
package scheduler
