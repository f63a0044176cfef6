// Package stream is the node agent's streaming server: the kubelet-style
// HTTPS API the API server proxies pods/log, pods/exec, pods/attach and
// pods/portforward to.
//
// It owns:
//   - GET /containerLogs/{ns}/{pod}/{container}: the container's log as
//     text/plain, with follow (flushed as lines arrive), previous,
//     timestamps, tailLines, limitBytes, sinceSeconds and sinceTime.
//   - /exec/{ns}/{pod}/{container}?command=…&stdin&stdout&stderr&tty and
//     /attach/{ns}/{pod}/{container}?…: the remote-command channel protocol
//     over a WebSocket upgrade (v5.channel.k8s.io, v4.channel.k8s.io and the
//     older channel.k8s.io and base64 variants) or a SPDY/3.1 upgrade
//     (X-Stream-Protocol-Version v5 … v1). Channels are 0 stdin, 1 stdout,
//     2 stderr, 3 status (a metav1.Status; a non-zero exit is
//     NonZeroExitCode with an ExitCode cause) and 4 terminal resize.
//   - /portForward/{ns}/{pod}?port=N: TCP relayed to the pod's IP (from the
//     runtime's sandbox; 127.0.0.1 for host-network pods) over SPDY
//     (portforward.k8s.io), over WebSocket channels (v4.channel.k8s.io: two
//     channels per port, each opened with the port as two little-endian
//     bytes) and over SPDY tunnelled in a WebSocket (SPDY/3.1+portforward.k8s.io,
//     what kubectl 1.31+ sends first).
//   - Authentication: mutual TLS. The TLS handshake requires a client
//     certificate of the configured CAs (the cluster CA); a request whose
//     certificate's common name is not an allowed client
//     (kube-apiserver-kubelet-client) is answered 403. Bearer tokens are
//     neither needed nor accepted.
//   - Its TLS serving certificate: the node's (GetCertificate, renewed by
//     the node's certificate manager), the configured files, or a
//     self-signed certificate generated in memory. HTTP/2 is not offered: upgrades need
//     HTTP/1.1 connections.
//
// Errors before an upgrade are metav1.Status JSON: 403 for a client that is
// not the API server,
// 404 "pod ns/name not found on this node" and "container X is not valid
// for pod Y", 400 "container X of pod Y is not running" for exec and attach,
// 400 "waiting to start" when Pods also implements ContainerNames and the
// container is declared but has no instance yet. The server of a simulated
// node (Config.SimulatedNode) answers exec, attach and port-forward of a
// pod it has with 400 "pod P runs on simulated node N: exec is not
// available (simulated nodes run no processes)" (attach, port-forward
// alike): there is no process, and kubectl cp, which execs tar, fails with
// the same clear message. kwok refuses them too unless configured to run
// commands on its host; logs, which kwok also refuses by default, answer
// the simulated runtime's log of state changes.
//
// It does not own finding pods and containers (Pods, the agent) nor running
// processes (the runtime.Runtime); it does not check that the caller may
// reach the pod (the API server authorised the request).
//
// Concurrency: Run serves until its context ends, then closes the listener
// and idle connections, cancels every request in flight (the runtime stops
// exec and attach commands, which are reported to their clients as ended by
// the agent's shutdown; log follows and port relays are cut) and waits for
// all handlers. Each request runs on its own goroutine; a streaming session's
// helper goroutines (resize decoding, port relays) are owned and waited for
// by the handler that started them. A Server is not reusable after Run.
package stream
