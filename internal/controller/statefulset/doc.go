// Package statefulset is the StatefulSet controller: it reconciles every
// StatefulSet with its pods, PersistentVolumeClaims and ControllerRevisions so
// that the set has one pod per ordinal, a claim per pod and volume claim
// template, ordered rollouts and an accurate status.
//
// It owns, in separate files that keep upstream's testable split:
//   - controller.go: wiring (informer event handlers that enqueue into the
//     shared controller runner, adoption and release of pods and revisions);
//   - control.go: the reconcile algorithm for one set (scale, update, status);
//   - podcontrol.go: the writes of pods and claims, and their events;
//   - status.go: the status subresource writer;
//   - revision.go: ControllerRevision serialization, hashing and history;
//   - identity.go: naming, pod construction, health and claim ownership
//     rules, and whether the set's pods opt into automatic failover (the
//     set's petset.io/failover=auto annotation or Options.AutoFailover; the
//     pods are annotated at creation and patched when the set's opt-in
//     changes, docs/fencing.md);
//   - writes.go: the record of the controller's own writes, so that a sync
//     waits until the informer caches have observed them (stale-write
//     consistency, compared through the informers' last seen resourceVersion).
//
// Logging: log/slog from the context (logging.FromContext); the runner gives
// each sync a logger with controller=statefulset and statefulset=<namespace>/<name>.
//
// It does not delete PersistentVolumeClaims (the garbage collector does, through
// the owner references this package maintains), does not schedule or run pods,
// and does not default or validate StatefulSets (the API server does).
//
// Concurrency: Run runs the shared controller runner (internal/controller/runner):
// a fixed number of workers take set keys from its rate-limited work queue,
// which guarantees that one key is processed by at most one worker at a time. Informer handlers only enqueue keys. Within one sync,
// Parallel (burst) pod management issues pod writes from short-lived goroutines
// in slow-start batches, all of which are joined before the sync continues.
// The control algorithm reads only informer caches and holds no state between
// syncs, except the resource-version tracker for the controller's own writes.
package statefulset
