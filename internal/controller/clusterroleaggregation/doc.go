// Package clusterroleaggregation owns ClusterRole aggregation, as
// kube-controller-manager's clusterrole-aggregation controller: the rules of
// a ClusterRole with an aggregationRule are kept equal to the union of the
// rules of every other ClusterRole its selectors match (how admin, edit and
// view gain the rules of roles labelled aggregate-to-admin/edit/view).
//
// Concurrency: one informer on ClusterRoles; any change enqueues every
// aggregated ClusterRole on the shared controller runner
// (internal/controller/runner), keyed by role name; a failed sync (a
// conflict with a concurrent writer) is retried with back-off.
package clusterroleaggregation
