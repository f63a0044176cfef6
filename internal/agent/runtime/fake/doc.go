// Package fake is a simulated implementation of runtime.Runtime: it keeps
// sandboxes and containers as records and moves them through their lifecycle
// on timers, without running any process. It backs simulated nodes
// (`petset up --simulate-nodes N`, `petset agent --simulate`) and the agent's
// tests.
//
// Behaviour:
//   - A started container is Created, then Running after Config.StartDelay.
//     An init container (ContainerConfig.Init) then completes by itself: it
//     exits with code 0 (reason Completed) Config.InitDuration after it
//     started running (at once when zero), so the agent goes on to the next
//     init container, then the app containers, as kubelet does. Any other
//     container exits only when stopped (StopContainer: it exits Config.StopDelay
//     after SIGTERM with code 0, or is "killed" with code 137 when the grace
//     period runs out first; a later StopContainer whose grace period ends
//     sooner — a force delete — moves the kill earlier, as a real runtime
//     does), when its sandbox is stopped, or when Exit injects an exit code.
//   - Sandboxes get pod IPs from Config.PodCIDR (the network, first and last
//     addresses are skipped); host-network sandboxes get no IP.
//   - Logs holds one line per state change of a container.
//   - Exec understands a few argv: `hostname` (prints the sandbox hostname),
//     `cat` (echoes stdin), `echo ARGS…`, `true`, `false`, `sh -c 'exit N'` and
//     `env`; anything else fails with exit code 126 and the error
//     "simulated node: exec of X not supported".
//   - Probe reports a probe as passing once the container has been running
//     for Config.ReadyDelay, so simulated pods go Pending → Running → Ready.
//
// Users steer simulated nodes with the annotation petset.io/simulate
// (SimulateAnnotation); the agent only passes it on and does not know it
// is simulated:
//   - on a pod, `fail` makes its containers exit with code 1 once running
//     (init containers included, before their init duration ends: the pod
//     shows Init:Error, then Init:CrashLoopBackOff); `succeed` makes them
//     exit with code 0. The runtime reads it from SandboxConfig.Annotations,
//     which the agent passes at every RunSandbox: set on a running pod, it
//     applies to the containers running then.
//   - a Job's pod (label batch.kubernetes.io/job-name) without the
//     annotation runs its containers as init containers: each exits 0
//     Config.InitDuration after it started, so Jobs complete;
//   - on a Node, `stop-heartbeat` makes CutOff report the node cut off;
//     the node wiring gives CutOff to the agent (agent.Config.CutOff), which
//     then stops renewing its Lease and posting node and pod status (to
//     rehearse the loss of a node); removing the annotation resumes both.
//   - probes: the node wiring gives the agent probe.ByContainer(r.Probe)
//     as its prober.
//
// Concurrency: every method is safe for concurrent use; one mutex guards all
// state. Timers are the only asynchronous work: they are created through the
// injected clock and stopped when their container or sandbox goes away. No
// goroutine outlives a call except the short ones a fired timer starts to
// apply its state change.
// Events are delivered on a buffered channel; when the buffer is full an
// event is dropped (the agent resyncs periodically, so nothing is lost for
// good).
package fake
