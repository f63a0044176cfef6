package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"petset/internal/agent/probe"
	"petset/internal/agent/runtime"
	"petset/internal/agent/volume"
	"petset/internal/fencing"
	"petset/internal/logging"
	"petset/internal/podport"
)

// Restart back-off as kubelet's CrashLoopBackOff and its image pull
// back-off (flowcontrol.Backoff: 10s doubling to 5m; an entry is forgotten
// once its last step is older than twice the maximum, so a container that
// ran 10 minutes restarts at once).
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
)

// Volume set-up retries as kubelet's volume operations
// (pkg/util/goroutinemap/exponentialbackoff): 500ms doubling to 2m2s. A pod
// GETs the objects its volumes name (a node may read them only by name), so
// a ConfigMap created meanwhile is found at the next retry.
const (
	mountBackoffInitial = 500 * time.Millisecond
	mountBackoffMax     = 2*time.Minute + 2*time.Second
)

// podWorker owns one pod's lifecycle on the node. Its state is touched only
// by its own goroutine.
type podWorker struct {
	uid  types.UID
	kick chan struct{}

	fail       *failures // what the last actions recorded, for the status
	mountRetry time.Time // no volume set-up before this (back-off after a failure)
	terminated bool      // graceful termination done, pod deletion requested
	deleteSent time.Time // when the grace-0 delete was last sent
	killAt     time.Time // when a terminating pod's containers get SIGKILL (zero: not terminating)
	waitingFor types.UID // the other pod of this name whose teardown this one waits for
	wake       interface{ Stop() bool }
	// The last status written, the resourceVersion it was written over and
	// the one it produced.
	sent             *corev1.PodStatus
	sentOver, sentAs string
}

// dispatch hands queued pod UIDs to their workers, starting workers as
// needed.
func (a *Agent) dispatch(ctx context.Context) {
	for {
		uid, shutdown := a.queue.Get()
		if shutdown {
			return
		}
		a.mu.Lock()
		w, ok := a.workers[uid]
		if !ok && ctx.Err() == nil {
			w = &podWorker{uid: uid, kick: make(chan struct{}, 1), fail: newFailures()}
			a.workers[uid] = w
			a.wg.Add(1)
			go a.work(ctx, w)
		}
		a.mu.Unlock()
		if w != nil {
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
		a.queue.Done(uid)
	}
}

func (a *Agent) work(ctx context.Context, w *podWorker) {
	defer a.wg.Done()
	defer func() {
		if w.wake != nil {
			w.wake.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		}
		start := a.clock.Now()
		done, after := a.syncPod(ctx, w)
		if ctx.Err() != nil {
			return
		}
		if done {
			a.mu.Lock()
			select {
			case <-w.kick:
				a.mu.Unlock()
				select {
				case w.kick <- struct{}{}:
				default:
				}
				continue
			default:
			}
			delete(a.workers, w.uid)
			a.mu.Unlock()
			a.objects.Unregister(w.uid)
			a.releaseIdentity(w.uid)
			return
		}
		if w.wake != nil {
			w.wake.Stop()
			w.wake = nil
		}
		if after > 0 {
			// after counts from the sync's start: the time the sync took
			// (or a clock that moved meanwhile) does not push the wake-up
			// later — a back-off ends when it says.
			uid := w.uid
			if left := after - a.clock.Since(start); left > 0 {
				w.wake = a.clock.AfterFunc(left, func() { a.queue.Add(uid) })
			} else {
				a.queue.Add(uid)
			}
		}
	}
}

// releaseIdentity frees the names uid held, now that its teardown is
// complete, and queues the pods waiting for them.
func (a *Agent) releaseIdentity(uid types.UID) {
	for _, key := range a.ids.release(uid) {
		ns, name, _ := strings.Cut(key, "/")
		if p, err := a.podLister.Pods(ns).Get(name); err == nil && p.UID != uid {
			a.queue.Add(p.UID)
		}
	}
}

// syncPod brings the runtime in line with the pod. It reports whether the
// worker is finished and when it wants to run again (0: on events only).
func (a *Agent) syncPod(ctx context.Context, w *podWorker) (bool, time.Duration) {
	pod := a.podByUID(w.uid)
	log := a.log.With("podUID", w.uid)
	if pod != nil && a.revokedPod(w.uid) {
		// The API no longer assigns it here, whatever the cache still says.
		pod = nil
	}
	if pod == nil {
		if err := a.teardown(ctx, w.uid); err != nil {
			log.Warn("tearing down pod", logging.ErrKey, err)
			return false, 2 * time.Second
		}
		return true, 0
	}
	log = log.With("pod", pod.Namespace+"/"+pod.Name)
	if pod.DeletionTimestamp != nil {
		return false, a.terminate(ctx, w, pod)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		a.stopTerminal(ctx, w.uid)
		return false, 0
	}
	if fencing.AutoFailover(pod) && a.fenced() {
		// Self-fencing: the node could not confirm its pods for the fence
		// timeout, so the control plane may fail this one over; it stops
		// here, and starts again once the API confirms it.
		if err := a.teardown(ctx, w.uid); err != nil {
			log.Warn("self-fencing: stopping pod", logging.ErrKey, err)
			return false, 2 * time.Second
		}
		a.forgetAdmitted(w.uid)
		log.Warn("self-fencing: pod stopped, its node could not confirm it with the API within the fence timeout", "pod", pod.Namespace+"/"+pod.Name)
		return false, 0
	}
	after, err := a.runPod(ctx, w, pod)
	if err != nil {
		if apierrors.IsConflict(err) {
			log.Debug("status conflict, retrying", logging.ErrKey, err)
		} else {
			log.Warn("syncing pod", logging.ErrKey, err)
		}
		if after == 0 || after > 2*time.Second {
			after = 2 * time.Second
		}
	}
	return false, after
}

// teardown removes everything of a pod that no longer exists.
func (a *Agent) teardown(ctx context.Context, uid types.UID) error {
	a.probes.StopPod(string(uid))
	list, err := a.rt.ListContainers(ctx, string(uid))
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("listing containers: %w", err)
	}
	for _, c := range list {
		if c.State != runtime.StateExited {
			if err := a.rt.StopContainer(ctx, c.ID, 0); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				return fmt.Errorf("stopping %s: %w", c.Name, err)
			}
		}
	}
	if err := a.rt.StopSandbox(ctx, string(uid)); err != nil {
		return fmt.Errorf("stopping sandbox: %w", err)
	}
	for _, c := range list {
		if err := a.rt.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("removing %s: %w", c.Name, err)
		}
	}
	if err := a.volumes.Unmount(ctx, uid); err != nil {
		return err
	}
	a.mountBackoff.DeleteEntry(string(uid))
	for _, c := range list {
		a.restartBackoff.DeleteEntry(restartKey(uid, c.Name))
	}
	return nil
}

// stopTerminal releases the sandbox of a pod that reached Succeeded or
// Failed; its containers' records stay for logs until the pod is deleted.
func (a *Agent) stopTerminal(ctx context.Context, uid types.UID) {
	a.probes.StopPod(string(uid))
	list, _ := a.rt.ListContainers(ctx, string(uid))
	for _, c := range list {
		if c.State != runtime.StateExited {
			_ = a.rt.StopContainer(ctx, c.ID, 0)
		}
	}
	_ = a.rt.StopSandbox(ctx, string(uid))
}

func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// terminate stops a pod being deleted: preStop hooks, then SIGTERM with the
// pod's grace period, then a final status and the grace-0 delete that
// removes the pod object. While it waits it follows the pod: a shorter
// grace period (a second delete) brings the kill deadline forward, and a
// pod that disappears (force delete) is killed at once.
func (a *Agent) terminate(ctx context.Context, w *podWorker, pod *corev1.Pod) time.Duration {
	log := a.log.With("pod", pod.Namespace+"/"+pod.Name)
	if !w.terminated {
		a.probes.StopPod(string(pod.UID))
		w.killAt = killDeadline(w.killAt, a.clock.Now(), pod)
		list, err := a.rt.ListContainers(ctx, string(pod.UID))
		if err != nil {
			log.Warn("listing containers", logging.ErrKey, err)
			return 2 * time.Second
		}
		gone := a.stopContainers(ctx, w, pod, list, log)
		if ctx.Err() != nil {
			return 0
		}
		if !gone {
			// A last status with the containers terminated.
			if _, err := a.updateStatus(ctx, w, pod, a.sandboxIP(ctx, pod), true); err != nil {
				log.Info("final status", logging.ErrKey, err)
			}
		}
		if err := a.rt.StopSandbox(ctx, string(pod.UID)); err != nil {
			log.Warn("stopping sandbox", logging.ErrKey, err)
			return 2 * time.Second
		}
		w.terminated = true
		if gone {
			// Force-deleted: nothing to report; the next sync tears down
			// what is left (volumes) and frees the pod's name.
			return time.Nanosecond
		}
	}
	if a.heartbeatStopped() {
		// Cut off from the API (simulated link failure): the pod stays
		// Terminating until the node is back or someone force-deletes it.
		return 5 * time.Second
	}
	// One delete, as kubelet's status manager sends it once: the events it
	// causes (the final status, the delete itself) kick this worker again
	// before the pod is gone from the cache. Sent again only if the pod is
	// still there after deleteRetry.
	if left := w.deleteSent.Add(deleteRetry).Sub(a.clock.Now()); !w.deleteSent.IsZero() && left > 0 {
		return left
	}
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptrInt64(0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		log.Warn("deleting pod", logging.ErrKey, err)
		return 2 * time.Second
	}
	w.deleteSent = a.clock.Now()
	return deleteRetry
}

// deleteRetry is how long after its grace-0 delete a pod still in the API
// is deleted again.
const deleteRetry = 5 * time.Second

// stopContainers runs the preStop hooks and stops the pod's live containers
// by w.killAt, and returns when they have all exited. Meanwhile every kick
// of the worker re-reads the pod: when the kill deadline moves earlier,
// running hooks are cut short and each container is stopped again with what
// is left of the new deadline (the runtime kills at the earlier of the two).
// It reports whether the pod was gone from the API (force-deleted).
func (a *Agent) stopContainers(ctx context.Context, w *podWorker, pod *corev1.Pod, list []runtime.ContainerStatus, log *slog.Logger) (gone bool) {
	dl := &deadline{at: w.killAt}
	left := func() time.Duration {
		d := dl.get().Sub(a.clock.Now())
		if d < 0 {
			return 0
		}
		return d
	}
	stop := func(c runtime.ContainerStatus) {
		if err := a.rt.StopContainer(ctx, c.ID, left()); err != nil && !errors.Is(err, runtime.ErrNotFound) && ctx.Err() == nil {
			log.Warn("stopping container", "container", c.Name, logging.ErrKey, err)
		}
	}
	hookCtx, cancelHooks := context.WithCancel(ctx)
	defer cancelHooks()
	sb := a.sandboxIP(ctx, pod)
	var live []runtime.ContainerStatus
	var wg sync.WaitGroup
	for _, c := range list {
		if c.State == runtime.StateExited {
			continue
		}
		live = append(live, c)
		spec := containerSpec(pod, c.Name)
		if spec != nil {
			a.containerEvent(pod, spec, corev1.EventTypeNormal, reasonKilling, fmt.Sprintf("Stopping container %s", c.Name))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if spec != nil && spec.Lifecycle != nil && spec.Lifecycle.PreStop != nil && c.State == runtime.StateRunning {
				hctx, cancel := context.WithTimeout(hookCtx, left())
				if err := a.runHook(hctx, spec.Lifecycle.PreStop, c.ID, spec, sb); err != nil {
					log.Info("preStop hook failed", "container", c.Name, logging.ErrKey, err)
				}
				cancel()
			}
			stop(c)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var again sync.WaitGroup
	defer again.Wait()
	kicked := false
	for {
		select {
		case <-done:
			if kicked {
				// Events consumed here may concern more than the deadline.
				select {
				case w.kick <- struct{}{}:
				default:
				}
			}
			return gone
		case <-ctx.Done():
			<-done
			return gone
		case <-w.kick:
			kicked = true
			cur := a.podByUID(w.uid)
			gone = cur == nil
			at := killDeadline(w.killAt, a.clock.Now(), cur)
			if !dl.advance(at) {
				continue
			}
			w.killAt = at
			log.Info("kill deadline moved earlier", "gracePeriod", left(), "forceDeleted", cur == nil)
			cancelHooks()
			for _, c := range live {
				again.Add(1)
				go func() { defer again.Done(); stop(c) }()
			}
		}
	}
}

func ptrInt64(v int64) *int64 { return &v }

// runHook runs a lifecycle handler (exec, httpGet, tcpSocket or sleep).
func (a *Agent) runHook(ctx context.Context, h *corev1.LifecycleHandler, containerID string, c *corev1.Container, podIP string) error {
	switch {
	case h.Exec != nil:
		code, err := a.rt.Exec(ctx, containerID, h.Exec.Command, runtime.Streams{})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", h.Exec.Command, code)
		}
	case h.HTTPGet != nil:
		port, err := podport.ForContainer(h.HTTPGet.Port, c.Ports)
		if err != nil {
			return err
		}
		host := h.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		scheme := "http"
		if h.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+h.HTTPGet.Path, nil)
		if err != nil {
			return err
		}
		for _, hd := range h.HTTPGet.HTTPHeaders {
			req.Header.Add(hd.Name, hd.Value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-a.clock.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
	}
	return nil
}

// runsToCompletion reports whether the named container is an init
// container that must complete before the next starts (not a sidecar).
func runsToCompletion(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return ephemeralContainer(&pod.Spec.EphemeralContainers[i])
		}
	}
	return nil
}

// ephemeralContainer is an ephemeral container's spec as a container's (the
// two types share their fields; validation refused the ones an ephemeral
// container may not set).
func ephemeralContainer(ec *corev1.EphemeralContainer) *corev1.Container {
	return (*corev1.Container)(&ec.EphemeralContainerCommon)
}

// sandboxIP is the pod's IP as the runtime knows it (no sandbox: "").
func (a *Agent) sandboxIP(ctx context.Context, pod *corev1.Pod) string {
	if pod.Spec.HostNetwork {
		return a.cfg.NodeIP
	}
	list, err := a.rt.ListSandboxes(ctx)
	if err != nil {
		return pod.Status.PodIP
	}
	for _, sb := range list {
		if sb.UID == string(pod.UID) {
			return sb.IP
		}
	}
	return ""
}

// instances groups a pod's runtime containers by name, newest attempt first.
func instances(list []runtime.ContainerStatus) map[string][]runtime.ContainerStatus {
	m := map[string][]runtime.ContainerStatus{}
	for _, c := range list {
		m[c.Name] = append(m[c.Name], c)
	}
	for _, l := range m {
		sort.Slice(l, func(i, j int) bool { return l[i].Attempt > l[j].Attempt })
	}
	return m
}

func shouldRestart(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// restartBackOffEvent records kubelet's event for a container waiting out
// its CrashLoopBackOff.
func (a *Agent) restartBackOffEvent(pod *corev1.Pod, c *corev1.Container) {
	a.containerEvent(pod, c, corev1.EventTypeWarning, reasonBackOff, fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.Name, formatPod(pod)))
}

// runPod moves a live pod forward: it sets up what the containers need
// (identity, sandbox, volumes), then syncs the containers.
func (a *Agent) runPod(ctx context.Context, w *podWorker, pod *corev1.Pod) (time.Duration, error) {
	podIP, mounts, hostsPath, wait, err := a.setUpPod(ctx, w, pod)
	if err != nil || wait > 0 || mounts == nil {
		return wait, err
	}
	return a.syncContainers(ctx, w, pod, podIP, mounts, hostsPath)
}

// setUpPod claims the pod's identity on the node, posts its first status,
// creates its sandbox and sets up its volumes. It returns the pod IP, the
// volumes and the pod's hosts file, or (nil volumes) when to try again.
func (a *Agent) setUpPod(ctx context.Context, w *podWorker, pod *corev1.Pod) (string, map[string]volume.Volume, string, time.Duration, error) {
	// One identity, one live copy on this node: the pod's name stays
	// reserved by an earlier pod of that name (force-deleted, replaced)
	// until that one's teardown is complete.
	if other, ok := a.ids.claim(identityKey(pod.Namespace, pod.Name), pod.UID); !ok {
		if w.waitingFor != other {
			w.waitingFor = other
			a.log.Info("waiting for the previous pod of this name to be torn down", "pod", pod.Namespace+"/"+pod.Name, "podUID", pod.UID, "previousUID", other)
		}
		a.queue.Add(other) // make sure its worker runs; its release requeues this pod
		return "", nil, "", 0, nil
	}
	w.waitingFor = ""
	// The ConfigMaps and Secrets the pod names are followed by watches from
	// now until its worker ends.
	a.objects.Register(pod)

	// As kubelet, say at once that the pod is being set up: its containers
	// wait with ContainerCreating (PodInitializing behind init containers)
	// while the sandbox, volumes and images are prepared.
	if w.sent == nil && len(pod.Status.ContainerStatuses) == 0 && len(pod.Status.InitContainerStatuses) == 0 {
		if _, err := a.updateStatus(ctx, w, pod, "", false); err != nil {
			return "", nil, "", time.Second, err
		}
	}

	podIP := pod.Status.PodIP
	if pod.Spec.HostNetwork {
		podIP = a.cfg.NodeIP
	}
	sb, err := a.rt.RunSandbox(ctx, runtime.SandboxConfig{
		UID:         string(pod.UID),
		Namespace:   pod.Namespace,
		Name:        pod.Name,
		Annotations: pod.Annotations,
		Labels:      pod.Labels,
		Hostname:    podHostname(pod),
		HostsFile:   hostsFile(pod, podIP, a.cfg.DNS.ClusterDomain),
		ResolvConf:  resolvConf(pod, a.cfg.DNS),
		HostNetwork: pod.Spec.HostNetwork,
	})
	if err != nil {
		w.fail.sandbox = err.Error()
		_, _ = a.updateStatus(ctx, w, pod, "", false)
		return "", nil, "", 5 * time.Second, fmt.Errorf("creating sandbox: %w", err)
	}
	w.fail.sandbox = ""
	a.admit(ctx, pod.UID, sb)
	podIP = sb.IP
	if pod.Spec.HostNetwork {
		podIP = a.cfg.NodeIP
	}

	if left := w.mountRetry.Sub(a.clock.Now()); left > 0 {
		_, err := a.updateStatus(ctx, w, pod, podIP, false)
		return "", nil, "", left, err
	}
	mounts, err := a.volumes.Mount(ctx, pod)
	if err != nil {
		wait, err := a.mountFailed(ctx, w, pod, podIP, err)
		return "", nil, "", wait, err
	}
	if w.fail.mount != "" {
		a.log.Info("volumes set up", "pod", pod.Namespace+"/"+pod.Name, "podUID", pod.UID)
	}
	w.fail.mount, w.mountRetry = "", time.Time{}
	a.mountBackoff.DeleteEntry(string(pod.UID))
	hostsPath := filepath.Join(a.volumes.PodDir(pod.UID), "etc-hosts")
	if !a.cfg.VolumesOffDisk {
		if err := writeIfChanged(hostsPath, hostsFile(pod, podIP, a.cfg.DNS.ClusterDomain)); err != nil {
			return "", nil, "", 2 * time.Second, err
		}
	}
	if mounts == nil {
		mounts = map[string]volume.Volume{}
	}
	return podIP, mounts, hostsPath, 0, nil
}

// restartKey names a container's crash-loop back-off entry.
func restartKey(uid types.UID, container string) string { return string(uid) + "/" + container }

// pullKey names an image pull back-off entry: per pod and image, as
// kubelet's.
func pullKey(uid types.UID, image string) string { return string(uid) + "/" + image }

// observe gathers what computePod decides from: the runtime's containers of
// the pod, their probe results, their crash-loop back-offs and the
// failures recorded on w, at the clock's now.
func (a *Agent) observe(ctx context.Context, w *podWorker, pod *corev1.Pod, podIP string, terminating bool) (*podState, error) {
	list, err := a.rt.ListContainers(ctx, string(pod.UID))
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	in := &podState{
		pod:         pod,
		now:         a.clock.Now(),
		nodeIP:      a.cfg.NodeIP,
		podIP:       podIP,
		containers:  instances(list),
		probes:      map[string]probe.State{},
		backoff:     map[string]crashBackoff{},
		failures:    w.fail,
		terminating: terminating,
		fenced:      a.fenced(),
	}
	for _, c := range list {
		if st, ok := a.probes.Status(c.ID); ok {
			in.probes[c.ID] = st
		}
	}
	for name, l := range in.containers {
		key := restartKey(pod.UID, name)
		in.backoff[name] = crashBackoff{delay: a.restartBackoff.Get(key), active: a.restartBackoff.IsInBackOffSince(key, l[0].FinishedAt)}
	}
	return in, nil
}

// startingHold is how long a created container that has not yet run holds
// its pod's status back (syncContainers).
const startingHold = time.Second

// syncContainers computes the pod's plan and applies it: probe-failed
// containers are killed first (and the pod observed again), then
// containers are started or wait out their back-off; after the runtime
// changed, the pod is observed and computed again, and that plan's
// removals, probes and status are applied.
func (a *Agent) syncContainers(ctx context.Context, w *podWorker, pod *corev1.Pod, podIP string, mounts map[string]volume.Volume, hostsPath string) (time.Duration, error) {
	in, err := a.observe(ctx, w, pod, podIP, false)
	if err != nil {
		return 2 * time.Second, err
	}
	plan := computePod(in)
	if plan.has(actKill) {
		for _, act := range plan.actions {
			if act.kind != actKill {
				continue
			}
			if err := a.killUnhealthy(ctx, pod, act); err != nil {
				return 2 * time.Second, err
			}
		}
		if in, err = a.observe(ctx, w, pod, podIP, false); err != nil {
			return 2 * time.Second, err
		}
		plan = computePod(in)
	}

	var wake time.Duration
	soon := func(d time.Duration) {
		if d > 0 && (wake == 0 || d < wake) {
			wake = d
		}
	}
	soon(plan.wake)
	envPod := podEnvPod(pod, podIP, a.cfg.NodeIP)
	var started []string
	for _, act := range plan.actions {
		switch act.kind {
		case actBackOff:
			a.restartBackOffEvent(pod, act.container)
		case actStart:
			if act.restart {
				a.restartBackoff.Next(restartKey(pod.UID, act.name), act.finishedAt)
			}
			soon(a.startContainer(ctx, w, envPod, act.container, act.attempt, mounts, hostsPath))
			started = append(started, act.name)
		}
	}
	// A container the runtime created less than startingHold ago but has
	// not reported running yet (a simulated node's start delay) holds the
	// pod's status back, in this sync and in any sync another runtime event
	// brings meanwhile: the runtime's event when it runs or fails syncs the
	// pod again, and that status is the one worth writing (kubelet too
	// writes the pod's status once its containers have started, not in
	// between). A container stuck in Created past the hold is reported.
	if len(started) > 0 {
		if in, err = a.observe(ctx, w, pod, podIP, false); err != nil {
			return 2 * time.Second, err
		}
		plan = computePod(in)
	}
	starting := false
	now := a.clock.Now()
	for _, l := range in.containers {
		if len(l) == 0 || l[0].State != runtime.StateCreated {
			continue
		}
		if left := l[0].CreatedAt.Add(startingHold).Sub(now); left > 0 {
			starting = true
			soon(left)
		}
	}
	// An init container that completed since the status the API server
	// holds is news worth writing at once, even while the next container
	// is only created: kubelet shows each step (Init:1/2, then
	// PodInitializing before the app containers run).
	if starting && initCompleted(&plan.status) > initCompleted(&pod.Status) {
		starting = false
	}

	probed := map[string]bool{}
	for _, act := range plan.actions {
		switch act.kind {
		case actRemove:
			_ = a.rt.RemoveContainer(ctx, act.id)
		case actProbe:
			probed[act.id] = true
			a.probes.Start(ctx, string(pod.UID), act.id, act.startedAt, act.probes, act.target)
		}
	}
	a.probes.Retain(string(pod.UID), probed)

	if !starting {
		if err := a.postPodStatus(ctx, w, pod, plan.status); err != nil {
			return time.Second, err
		}
	}
	if plan.has(actStopPod) {
		a.stopTerminal(ctx, pod.UID)
	}
	for _, p := range w.fail.pull {
		if !p.reported {
			// ErrImagePull has been shown; the next status says ImagePullBackOff.
			p.reported = true
			soon(time.Second)
		}
	}
	return wake, nil
}

// initCompleted counts the init containers status shows terminated with
// exit code 0.
func initCompleted(status *corev1.PodStatus) int {
	n := 0
	for _, cs := range status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode == 0 {
			n++
		}
	}
	return n
}

// killUnhealthy stops a container whose liveness or startup probe failed.
func (a *Agent) killUnhealthy(ctx context.Context, pod *corev1.Pod, act podAction) error {
	a.log.Info("restarting container after probe failure", "pod", pod.Namespace+"/"+pod.Name, "container", act.name, "reason", act.message)
	if act.container != nil {
		a.containerEvent(pod, act.container, corev1.EventTypeNormal, reasonKilling, fmt.Sprintf("Container %s failed %s probe, will be restarted", act.name, act.probe))
	}
	a.probes.StopContainer(act.id)
	if err := a.rt.StopContainer(ctx, act.id, gracePeriodSpec(pod)); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("stopping %s after probe failure: %w", act.name, err)
	}
	return nil
}

// mountFailed records a failed volume set-up as kubelet does: a Warning
// FailedMount event on the pod (repeats aggregate into one event with a
// count), an info log line, the containers left waiting in
// ContainerCreating, and a retry after the pod's next back-off step.
func (a *Agent) mountFailed(ctx context.Context, w *podWorker, pod *corev1.Pod, podIP string, err error) (time.Duration, error) {
	key, now := string(pod.UID), a.clock.Now()
	a.mountBackoff.Next(key, now)
	wait := a.mountBackoff.Get(key)
	w.fail.mount, w.mountRetry = err.Error(), now.Add(wait)
	a.podEvent(pod, corev1.EventTypeWarning, reasonFailedMount, err.Error())
	a.log.Info("volume set-up failed", "pod", pod.Namespace+"/"+pod.Name, "podUID", pod.UID, "reason", reasonFailedMount, logging.ErrKey, err, "retryIn", wait)
	if _, serr := a.updateStatus(ctx, w, pod, podIP, false); serr != nil {
		return wait, serr
	}
	return wait, nil
}

func gracePeriodSpec(pod *corev1.Pod) time.Duration {
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// podEnvPod is a copy of pod carrying the addresses env and downward API
// files read.
func podEnvPod(pod *corev1.Pod, podIP, hostIP string) *corev1.Pod {
	p := pod.DeepCopy()
	p.Status.PodIP = podIP
	p.Status.PodIPs = nil
	if podIP != "" {
		p.Status.PodIPs = []corev1.PodIP{{IP: podIP}}
	}
	p.Status.HostIP = hostIP
	p.Status.HostIPs = nil
	if hostIP != "" {
		p.Status.HostIPs = []corev1.HostIP{{IP: hostIP}}
	}
	return p
}

// startContainer resolves and starts one container instance; failures are
// recorded on w for the status. It returns when to retry (0: not needed).
func (a *Agent) startContainer(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, attempt int, mounts map[string]volume.Volume, hostsPath string) time.Duration {
	pull := pullKey(pod.UID, c.Image)
	if pf, now := w.fail.pull[c.Name], a.clock.Now(); pf != nil && a.pullBackoff.IsInBackOffSinceUpdate(pull, now) {
		a.containerEvent(pod, c, corev1.EventTypeNormal, reasonBackOff, fmt.Sprintf("Back-off pulling image %q", c.Image))
		a.containerEvent(pod, c, corev1.EventTypeWarning, reasonFailed, "Error: "+imagePullBackOff)
		return a.pullBackoff.Get(pull) - now.Sub(pf.at)
	}
	configFailed := func(err error) time.Duration {
		w.fail.config[c.Name] = err.Error()
		a.containerEvent(pod, c, corev1.EventTypeWarning, reasonFailed, "Error: "+strings.TrimPrefix(err.Error(), errConfig.Error()+": "))
		return 5 * time.Second
	}
	env, err := containerEnv(pod, c, apiObjects{a}, a.fields, kubernetesServiceEnv(a.cfg.KubernetesService))
	if err != nil {
		return configFailed(err)
	}
	sec, err := containerSecurity(pod, c)
	if err != nil {
		return configFailed(err)
	}
	delete(w.fail.config, c.Name)
	command := expandArgs(c.Command, env)
	args := expandArgs(c.Args, env)
	argv := append(append([]string{}, command...), args...)
	var imageEnv []string
	workDir := c.WorkingDir
	if a.cfg.Images != nil {
		res, err := a.cfg.Images.Resolve(c.Image, command, args)
		if err != nil {
			// What a failed pull is to kubelet: the image is not on the
			// node (petset's catalog) and cannot be fetched.
			a.containerEvent(pod, c, corev1.EventTypeNormal, reasonPulling, fmt.Sprintf("Pulling image %q", c.Image))
			a.containerEvent(pod, c, corev1.EventTypeWarning, reasonFailed, fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
			a.containerEvent(pod, c, corev1.EventTypeWarning, reasonFailed, "Error: "+errImagePull)
			a.log.Info("image pull failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "image", c.Image, "reason", errImagePull, logging.ErrKey, err)
			now := a.clock.Now()
			a.pullBackoff.Next(pull, now)
			w.fail.pull[c.Name] = &pullFailure{msg: err.Error(), at: now}
			return a.pullBackoff.Get(pull)
		}
		argv, imageEnv = res.Argv, res.Env
		if workDir == "" {
			workDir = res.WorkingDir
		}
	}
	delete(w.fail.pull, c.Name)
	a.pullBackoff.DeleteEntry(pull)
	// Nothing is downloaded: the image is a name for a program already on
	// the node, as kubelet reports a present image.
	a.containerEvent(pod, c, corev1.EventTypeNormal, reasonPulled, fmt.Sprintf("Container image %q already present on machine", c.Image))
	startFailed := func(msg string) {
		w.fail.start[c.Name] = msg
		a.containerEvent(pod, c, corev1.EventTypeWarning, reasonFailed, "Error: "+msg)
	}
	if len(argv) == 0 && a.cfg.Images == nil {
		// Without a catalog the image itself is what runs; the simulated
		// runtime ignores argv, a real one reports that it cannot run it.
		argv = []string{c.Image}
	}
	if len(argv) == 0 {
		startFailed("no command to run: the container sets neither command nor args")
		return 0
	}
	var ms []runtime.Mount
	for _, vm := range c.VolumeMounts {
		v, ok := mounts[vm.Name]
		if !ok {
			startFailed(fmt.Sprintf("volume %q not found", vm.Name))
			return 0
		}
		sub, err := subPathOf(vm, env)
		if err != nil {
			w.fail.config[c.Name] = err.Error()
			return 5 * time.Second
		}
		// The runtime resolves subPath below the volume without following
		// anything out of it, and creates it.
		ms = append(ms, runtime.Mount{HostPath: v.HostPath, SubPath: sub, ContainerPath: vm.MountPath, ReadOnly: vm.ReadOnly || v.ReadOnly})
	}
	if !pod.Spec.HostNetwork {
		ms = append(ms, runtime.Mount{HostPath: hostsPath, ContainerPath: "/etc/hosts"})
	}
	cfg := runtime.ContainerConfig{
		Name:       c.Name,
		Attempt:    attempt,
		Argv:       argv,
		Env:        mergeEnv(imageEnv, env),
		WorkingDir: workDir,
		Mounts:     ms,
		Resources:  resourcesOf(c),
		Security:   sec,
		Stdin:      c.Stdin,
		StdinOnce:  c.StdinOnce,
		TTY:        c.TTY,
		Init:       runsToCompletion(pod, c.Name),
	}
	if _, err := a.rt.StartContainer(ctx, string(pod.UID), cfg); err != nil {
		startFailed(err.Error())
		return 5 * time.Second
	}
	delete(w.fail.start, c.Name)
	// The runtime creates and starts in one step.
	a.containerEvent(pod, c, corev1.EventTypeNormal, reasonCreated, "Container created")
	a.containerEvent(pod, c, corev1.EventTypeNormal, reasonStarted, "Container started")
	return 0
}

func resourcesOf(c *corev1.Container) runtime.Resources {
	var r runtime.Resources
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		r.CPUMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryBytes = q.Value()
	}
	return r
}

func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
