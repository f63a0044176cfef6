// Package node assembles one node of petset: a container runtime (real
// isolated Linux processes, or simulated), the node agent running the pods
// bound to the node, the agent's streaming server (logs, exec, attach,
// port-forward) and, for a node with a pod network, a cluster DNS server on
// the bridge address that its pods' resolv.conf names. `petset up` runs one
// (or several simulated ones) in-process; `petset agent` runs one alone.
//
// Start-up order: runtime → DNS (needs the bridge) → streaming server →
// agent (publishes the streaming port in its Node). Shutdown is the reverse.
// Run blocks until its context ends and waits for everything it started.
package node
