// Package agent is petset's node agent, its kubelet: an ordinary client-go
// client of the API server that runs the pods bound to one node.
//
// It owns:
//   - the Node object: registration (labels kubernetes.io/hostname, os,
//     arch, node-role; capacity and allocatable; addresses; podCIDR; taints;
//     kubelet's four conditions; nodeInfo; daemonEndpoints; annotation
//     petset.io/volume-dir), re-registration when the Node is deleted, status
//     posting (checked every StatusUpdateFrequency, posted on change or every
//     StatusReportFrequency) and the Lease kube-node-lease/<node>, renewed
//     every quarter of LeaseDuration;
//   - per-pod workers, each sync computed, then applied: the worker sets
//     up what containers need (identity, sandbox, volumes — setUpPod),
//     observes the pod (observe: runtime instances, probe results,
//     crash-loop back-offs, recorded failures, the clock's now), asks the
//     pure computePod (podsync.go: no goroutines, no clock, no client) for
//     the actions and the status, performs the actions (syncContainers:
//     kill a probe-failed container and observe again, start or restart,
//     record back-off events; observe again after starting; remove old
//     instances, start probes, stop a terminal pod) and posts the status of
//     the result. What the workers do: sandbox (hostname, /etc/hosts, /etc/resolv.conf),
//     volumes (through package volume), init containers in order, app
//     containers with restartPolicy and CrashLoopBackOff (client-go's
//     flowcontrol.Backoff as kubelet's: 10s doubling to 5m, forgotten after
//     10m of running; the image pull back-off is another one, per pod and
//     image), env with downward API and $(VAR)
//     expansion, image resolution, probes (through package probe), graceful
//     deletion (preStop, SIGTERM with the grace period, final status, then a
//     grace-0 delete with a UID precondition; the kill deadline only moves
//     earlier — a shorter deletionGracePeriodSeconds brings it forward, a
//     pod force-deleted while terminating is killed at once) and teardown of
//     pods that no longer exist;
//   - one live copy per identity on the node: a pod's namespace/name is
//     reserved by the UID that created a sandbox for it until that UID's
//     teardown is complete (processes gone, sandbox stopped, volumes
//     unmounted); a replacement with a new UID waits (termination.go);
//   - pod status via pods/status, written only when it changed; the first
//     one as soon as the pod is taken up (containers waiting in
//     ContainerCreating, PodInitializing behind init containers), as
//     kubelet's;
//   - events, with kubelet's reasons and messages (events.go), through
//     client-go's broadcaster, whose correlator aggregates repeats into one
//     event with a count: FailedMount (volume set-up, retried with
//     kubelet's 500ms-to-2m2s back-off; the objects volumes name are read
//     again by name at each retry), Pulling/Pulled/Failed/BackOff for
//     images, Created/Started/Failed/BackOff/Killing for containers,
//     Unhealthy for each failed probe run;
//   - adoption after a restart: sandboxes the runtime reports are matched to
//     pods by UID; those of pods that are gone are torn down.
//   - the node side of local-volume reclaim (delegated to package volume).
//
// It does not own running processes (package runtime and its
// implementations), the image catalog, nor the streaming (logs, exec,
// attach) HTTP server: that server calls ContainerID and Runtime.
//
// Simulation: the agent does not know it is simulated. The simulated
// runtime (runtime/fake) completes init containers (ContainerConfig.Init)
// by itself after its init duration and reads the pod annotation
// petset.io/simulate=fail|succeed from SandboxConfig.Annotations (passed
// at every RunSandbox) to make containers exit with 1|0 once running (a
// failing init container shows Init:Error, then Init:CrashLoopBackOff);
// Config.Prober answers probes (probe.ByContainer of the runtime's Probe)
// and Config.CutOff says from the Node object when the node is cut off
// (fake.CutOff: the node annotation petset.io/simulate=stop-heartbeat
// stops lease renewal and node and pod status until removed).
//
// Concurrency: Run owns every goroutine it starts — the dispatcher (pod UIDs
// from a workqueue to per-pod workers), one worker goroutine per pod (a pod's
// state is touched only by its worker), the runtime-event reader, the
// resync timer, the node-status and lease loops and the PV reconciler — and
// waits for all of them before returning. Pods keep running after Run
// returns; the next agent adopts them. All waits are timers of the injected
// clock, never sleeps in loops.
package agent
