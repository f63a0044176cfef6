// Package rbac owns Kubernetes role-based access control on the API server:
// the rule resolver (which rules a user holds, from Roles, ClusterRoles and
// their bindings read through informers), the RBAC authorizer with kube's
// rule matching, the escalation guard that stops a user from granting rules
// it does not hold (unless it may "escalate" or "bind"), and the bootstrap
// policy (kube's default ClusterRoles and bindings) reconciled at every start.
//
// It does not own the RBAC kinds' storage (internal/registry) nor the
// aggregation of ClusterRoles (internal/controller/clusterroleaggregation).
//
// Concurrency: the resolver reads listers only, so the authorizer and the
// guard are safe for concurrent use; informers are started by the API
// server's post-start hook and must have synced before decisions are complete.
package rbac
