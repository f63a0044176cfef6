// Package node assembles one node of petset: a container runtime (real
// isolated Linux processes, or simulated), the node agent running the pods
// bound to the node, the agent's streaming server (logs, exec, attach,
// port-forward) and, for a node with a pod network, a cluster DNS server on
// the bridge address that its pods' resolv.conf names. `petset up` runs one
// (or several simulated ones) in-process; `petset agent` runs one alone.
//
// Credentials: a node authenticates as system:node:<name> (group
// system:nodes) with a client certificate kept in <node data>/pki
// (kubelet-client-<time>.pem, key and certificate in one 0600 file, and
// the kubelet-client-current.pem symlink), and serves its streaming server
// with kubelet-server-*.pem for its name and IP. petset up issues both from
// the CA it holds; petset agent requests the client certificate once with
// the bootstrap (join) token through a CertificateSigningRequest and the
// serving one with its client certificate. client-go's certificate
// managers renew both through CSRs before they expire.
//
// Simulated nodes: the runtime is runtime/fake on the Sim* timeline (init
// containers complete after SimInitDuration); the Node reports exactly
// SimCapacity over DefaultSimCapacity (kwok's cpu 32, memory 256Gi, pods
// 110, and ephemeral-storage 100Gi as a kubelet reports), nothing from the host; the streaming server refuses exec, attach
// and port-forward naming the node (stream.Config.SimulatedNode).
//
// Start-up order: credentials → runtime → DNS (needs the bridge) → streaming server →
// agent (publishes the streaming port in its Node). Shutdown is the reverse.
// Run blocks until its context ends and waits for everything it started.
package node
