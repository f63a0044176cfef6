// Package endpointslice publishes, for every Service with a selector, the
// pods it selects: as discovery.k8s.io/v1 EndpointSlices (what the cluster DNS
// reads) and as the legacy core/v1 Endpoints object, following the upstream
// endpointslice and endpoints controllers of kube-controller-manager.
//
// It owns: EndpointSlices labelled
// endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io, and
// the Endpoints object named after each selector Service (created, updated,
// and deleted with the Service).
//
// It does not own: Services without a selector (their Endpoints and slices
// are the user's), slices managed by anyone else, starting the informers it
// is given (the caller starts their factory), or DNS.
//
// Rules carried over from upstream:
//   - a pod is listed only when it has an IP and is not terminal; slices keep
//     terminating pods (ready=false, terminating=true, serving=pod readiness),
//     Endpoints drops them unless publishNotReadyAddresses is set;
//   - publishNotReadyAddresses lists not-ready pods as ready;
//   - hostname is the pod's spec.hostname when its spec.subdomain names the
//     Service (same namespace);
//   - ports come from the Service ports, a named targetPort resolving to the
//     pod's container port of that name and protocol (pods lacking it are
//     listed without that port); a headless Service without ports gets
//     addresses without ports.
//
// Concurrency: informer handlers only queue Service keys; Run runs the shared
// controller runner (internal/controller/runner), whose workers each sync one
// Service at a time (the work queue never hands the same key to two workers),
// and returns once they have all stopped.
package endpointslice
