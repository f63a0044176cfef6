// Package runtime owns the contract between the node agent and the component
// that runs containers: sandboxes (a pod's shared namespaces and network),
// container processes, exec, attach and logs. It holds types and the Runtime
// interface only; implementations live in subpackages (linux for real
// isolated processes, fake for simulated nodes). It starts no goroutines.
package runtime
