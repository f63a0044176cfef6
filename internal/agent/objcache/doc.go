// Package objcache is a node agent's view of the ConfigMaps and Secrets its
// pods refer to, kept by watches as kubelet's watch-based object managers
// (its default change-detection strategy) keep theirs: one watch per
// referenced object (a list and watch of that name only, which the node
// authorizer allows for objects its pods name), shared by every pod that
// names it and stopped when the last one is gone. Reading an object a pod
// names costs no request once its watch has synced, so the agent's reads
// of, say, each namespace's kube-root-ca.crt do not grow with its pods.
//
// Register records the objects a pod names (volumes, projected sources,
// env and envFrom) and starts their watches; Unregister drops the pod's
// references. ConfigMap and Secret read an object of a registered pod,
// waiting briefly for its watch's first list; an object no registered pod
// names is read from the API server (GET), as before.
//
// Concurrency: all methods are safe for concurrent use. Each watch runs in
// its own goroutine until its last pod is unregistered or Stop is called.
package objcache
