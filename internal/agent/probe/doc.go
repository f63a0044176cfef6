// Package probe runs Kubernetes container probes the way kubelet does.
//
// It owns:
//   - Prober: one probe execution — httpGet (scheme, host, port by number or
//     name, path, headers; 2xx and 3xx succeed; redirects are followed on the
//     same host, a redirect elsewhere counts as success), tcpSocket (a
//     connection succeeds) and exec (through the runtime's Exec; exit code 0
//     succeeds), each bounded by timeoutSeconds. HTTP and TCP probes reach
//     the probe's host, else the pod IP (the agent passes 127.0.0.1 for
//     host-network pods). gRPC probes are not supported: they fail with a
//     message saying so.
//   - Manager: one worker per probe kind (startup, liveness, readiness) per
//     container instance, driven by timers of an injected clock:
//     initialDelaySeconds, periodSeconds, successThreshold and
//     failureThreshold with kubelet's defaults (10s, 1, 3; timeout 1s).
//     Until a startup probe succeeds, liveness and readiness are not run; a
//     container without a readiness probe is ready once started; liveness
//     and startup failures are reported so the agent restarts the container.
//     Every change of a container's probe state calls the notify function.
//
// It does not own acting on results (the agent restarts containers and
// computes Ready conditions) nor the container lifecycle.
//
// Concurrency: Manager methods are safe for concurrent use. Workers are
// goroutines owned by the Manager; they stop when their container is
// removed (StopContainer, StopPod, Retain) or the context given to Start is
// cancelled. Wait waits for all of them.
package probe
