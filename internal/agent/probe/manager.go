package probe

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Kind names a probe kind.
type Kind string

// Probe kinds.
const (
	Startup   Kind = "Startup"
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
)

// Probes are the probes of one container; nil means none of that kind.
type Probes struct {
	Startup, Liveness, Readiness *corev1.Probe
}

// State is a container instance's probe state.
type State struct {
	// Started is true once the startup probe succeeded (or there is none).
	Started bool
	// Ready is true when started and the readiness probe succeeded (or
	// there is none).
	Ready bool
	// Failed names the probe whose failure calls for a restart, or "".
	Failed Kind
	// Message describes the failure.
	Message string
}

// Manager runs the probe workers of a node's containers.
type Manager struct {
	runner   Runner
	clock    clock.Clock
	notify   func(podUID string)
	failures func(Failure)

	wg         sync.WaitGroup
	mu         sync.Mutex
	containers map[string]*instance // by container ID
	// byPod holds the IDs of containers by pod UID, so that Retain (every
	// sync of a pod) looks at that pod's containers, not the node's.
	byPod map[string]map[string]bool
}

// Failure is one failed probe run, reported as kubelet's Unhealthy event
// ("Readiness probe failed: <output>").
type Failure struct {
	PodUID, ContainerID, Container string
	Kind                           Kind
	Output                         string
}

type instance struct {
	podUID       string
	cancel       context.CancelFunc
	started      bool
	hasReadiness bool
	ready        bool
	failed       Kind
	message      string
}

// NewManager returns a Manager running probes with runner on clk's timers;
// notify is called (without locks held) with the pod UID whenever a
// container's State changes. A nil clk means the real clock.
func NewManager(runner Runner, clk clock.Clock, notify func(podUID string)) *Manager {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if notify == nil {
		notify = func(string) {}
	}
	return &Manager{runner: runner, clock: clk, notify: notify, containers: map[string]*instance{}, byPod: map[string]map[string]bool{}}
}

// WithFailures makes the manager call report (without locks held) after
// every failed probe run, whether or not it changes the State; it is to be
// called before the first Start.
func (m *Manager) WithFailures(report func(Failure)) *Manager {
	m.failures = report
	return m
}

// Start begins probing the container instance containerID, which started
// running at startedAt. Calling it again for the same instance does nothing.
func (m *Manager) Start(ctx context.Context, podUID, containerID string, startedAt time.Time, probes Probes, t Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.containers[containerID]; ok {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	inst := &instance{
		podUID:       podUID,
		cancel:       cancel,
		started:      probes.Startup == nil,
		hasReadiness: probes.Readiness != nil,
	}
	m.containers[containerID] = inst
	if m.byPod[podUID] == nil {
		m.byPod[podUID] = map[string]bool{}
	}
	m.byPod[podUID][containerID] = true
	t.ContainerID = containerID
	for kind, p := range map[Kind]*corev1.Probe{Startup: probes.Startup, Liveness: probes.Liveness, Readiness: probes.Readiness} {
		if p == nil {
			continue
		}
		m.wg.Add(1)
		go m.work(ctx, inst, kind, p, startedAt, t)
	}
}

// Status returns the probe state of a container instance; false when the
// instance is not being probed.
func (m *Manager) Status(containerID string) (State, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst, ok := m.containers[containerID]
	if !ok {
		return State{}, false
	}
	return State{
		Started: inst.started,
		Ready:   inst.started && (!inst.hasReadiness || inst.ready),
		Failed:  inst.failed,
		Message: inst.message,
	}, true
}

// StopContainer stops probing one container instance.
func (m *Manager) StopContainer(containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.containers[containerID]; ok {
		m.stopLocked(containerID)
	}
}

// stopLocked stops probing the container instance id, which is probed.
func (m *Manager) stopLocked(id string) {
	inst := m.containers[id]
	inst.cancel()
	delete(m.containers, id)
	ids := m.byPod[inst.podUID]
	delete(ids, id)
	if len(ids) == 0 {
		delete(m.byPod, inst.podUID)
	}
}

// Retain stops probing the pod's container instances not in keep.
func (m *Manager) Retain(podUID string, keep map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.byPod[podUID] {
		if !keep[id] {
			m.stopLocked(id)
		}
	}
}

// StopPod stops probing every container of a pod.
func (m *Manager) StopPod(podUID string) { m.Retain(podUID, nil) }

// Wait waits for every worker to stop (after their contexts are cancelled).
func (m *Manager) Wait() { m.wg.Wait() }

func periodOf(p *corev1.Probe) time.Duration {
	if p.PeriodSeconds > 0 {
		return time.Duration(p.PeriodSeconds) * time.Second
	}
	return 10 * time.Second
}

func thresholds(p *corev1.Probe) (success, failure int) {
	success, failure = 1, 3
	if p.SuccessThreshold > 0 {
		success = int(p.SuccessThreshold)
	}
	if p.FailureThreshold > 0 {
		failure = int(p.FailureThreshold)
	}
	return success, failure
}

func (m *Manager) work(ctx context.Context, inst *instance, kind Kind, p *corev1.Probe, startedAt time.Time, t Target) {
	defer m.wg.Done()
	period := periodOf(p)
	delay := startedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second).Sub(m.clock.Now())
	if delay < 0 {
		delay = 0
	}
	timer := m.clock.NewTimer(delay)
	defer timer.Stop()
	successes, failures := 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		m.mu.Lock()
		started := inst.started
		m.mu.Unlock()
		if kind != Startup && !started {
			timer.Reset(period)
			continue
		}
		ok, msg := m.runner.Run(ctx, p, t)
		if ctx.Err() != nil {
			return
		}
		if ok {
			successes++
			failures = 0
		} else {
			failures++
			successes = 0
			if m.failures != nil {
				m.failures(Failure{PodUID: inst.podUID, ContainerID: t.ContainerID, Container: t.Container, Kind: kind, Output: msg})
			}
		}
		if m.record(inst, kind, p, ok, successes, failures, msg) {
			return
		}
		timer.Reset(period)
	}
}

// record applies one probe result; it reports whether the worker is done.
func (m *Manager) record(inst *instance, kind Kind, p *corev1.Probe, ok bool, successes, failures int, msg string) bool {
	needSuccess, needFailure := thresholds(p)
	changed, done := false, false
	m.mu.Lock()
	switch kind {
	case Startup:
		if ok {
			inst.started, changed, done = true, true, true
		} else if failures >= needFailure {
			inst.failed, inst.message = Startup, "Startup probe failed: "+msg
			changed, done = true, true
		}
	case Liveness:
		if !ok && failures >= needFailure {
			inst.failed, inst.message = Liveness, "Liveness probe failed: "+msg
			changed, done = true, true
		}
	case Readiness:
		if ok && successes >= needSuccess && !inst.ready {
			inst.ready, changed = true, true
		} else if !ok && failures >= needFailure && inst.ready {
			inst.ready, changed = false, true
		}
	}
	pod := inst.podUID
	m.mu.Unlock()
	if changed {
		m.notify(pod)
	}
	return done
}
