// Package clusterroleaggregation owns ClusterRole aggregation, as
// kube-controller-manager's clusterrole-aggregation controller: the rules of
// a ClusterRole with an aggregationRule are kept equal to the union of the
// rules of every other ClusterRole its selectors match (how admin, edit and
// view gain the rules of roles labelled aggregate-to-admin/edit/view).
//
// Concurrency: one informer on ClusterRoles; any change enqueues every
// aggregated ClusterRole; Run's workers sync one role at a time each and
// requeue with back-off on error (a conflict with a concurrent writer).
package clusterroleaggregation
