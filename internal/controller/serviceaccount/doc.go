// Package serviceaccount is kube-controller-manager's ServiceAccount
// controller: every active namespace has a ServiceAccount named "default";
// one deleted is created again.
//
// It does not issue tokens (internal/serviceaccount, internal/registry) nor
// publish the CA (internal/controller/rootcacert).
//
// Concurrency: it runs on the shared controller runner
// (internal/controller/runner); work is keyed by namespace, so one
// namespace is never synced twice at once.
package serviceaccount
