package registry

// Deps are what some kinds need beyond their own storage.
type Deps struct {
	ServiceIPs Allocator
	NodePorts  Allocator
	// Agents is how the API server reaches node agents for logs, exec,
	// attach and port-forward.
	Agents AgentAccess
	// RBAC guards writes of roles and bindings (escalation prevention); nil
	// allows every write the authorizer let through.
	RBAC RBACGuard
	// Tokens signs the tokens serviceaccounts/token issues; nil serves no
	// token subresource.
	Tokens TokenIssuer
	// Tolerations are the default not-ready and unreachable tolerations'
	// seconds (zero value: kube's 300 s each).
	Tolerations Tolerations
}

// Kinds returns every kind petset serves, in discovery order within each
// group. Each is declared, with every rule it has, in kind_<name>.go.
func Kinds(d Deps) []*Kind {
	return []*Kind{
		namespaceKind(), nodeKind(), podKind(&d.Agents, d.Tolerations), serviceKind(d.ServiceIPs, d.NodePorts), endpointsKind(),
		persistentVolumeKind(), persistentVolumeClaimKind(), configMapKind(), secretKind(), serviceAccountKind(d.Tokens),
		eventKind(),
		statefulSetKind(), controllerRevisionKind(), deploymentKind(), replicaSetKind(),
		storageClassKind(),
		leaseKind(),
		endpointSliceKind(),
		csrKind(),
		eventsV1EventKind(),
		podDisruptionBudgetKind(),
		networkPolicyKind(),
		jobKind(), cronJobKind(),
		clusterRoleBindingKind(d.RBAC), clusterRoleKind(d.RBAC), roleBindingKind(d.RBAC), roleKind(d.RBAC),
		mutatingWebhookConfigurationKind(), validatingWebhookConfigurationKind(),
		validatingAdmissionPolicyKind(), validatingAdmissionPolicyBindingKind(),
	}
}
