package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Label and annotation kube puts on its bootstrap policy; an object whose
// autoupdate annotation is "false" is left as the operator changed it.
const (
	bootstrappingLabel   = "kubernetes.io/bootstrapping"
	autoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"

	aggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"

	// BootstrappersGroup is the group of bootstrap (join) token users.
	BootstrappersGroup = "system:bootstrappers"
	// NodesGroup is the group of node credentials.
	NodesGroup = "system:nodes"
)

var (
	read      = []string{"get", "list", "watch"}
	write     = []string{"create", "delete", "deletecollection", "patch", "update"}
	readWrite = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)

func rule(verbs []string, groups []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func urls(verbs []string, paths ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: paths}
}

func g(groups ...string) []string { return groups }

func v(verbs ...string) []string { return verbs }

func clusterRole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	l := map[string]string{bootstrappingLabel: "rbac-defaults"}
	for k, val := range labels {
		l[k] = val
	}
	return rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l, Annotations: map[string]string{autoUpdateAnnotation: "true"}},
		Rules:      rules,
	}
}

func aggregated(name string, labels map[string]string, selectorLabel string) rbacv1.ClusterRole {
	r := clusterRole(name, labels)
	r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
		{MatchLabels: map[string]string{selectorLabel: "true"}},
	}}
	return r
}

func approver(name, signer string) rbacv1.ClusterRole {
	r := rule(v("approve"), g("certificates.k8s.io"), "signers")
	r.ResourceNames = []string{signer}
	return clusterRole(name, nil, r)
}

// ClusterRoles is kube's default cluster role policy, trimmed to what
// matters on petset: the user-facing roles (cluster-admin, admin, edit, view
// with their aggregation), discovery, basic-user, public-info-viewer,
// monitoring, auth-delegator, service-account-issuer-discovery and the
// node bootstrap and CSR roles. petset's own controllers run as the API
// server's privileged loopback client, so the system:controller:* and
// system:kube-* roles are not needed.
func ClusterRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		clusterRole("cluster-admin", nil,
			rule(v(rbacv1.VerbAll), g(rbacv1.APIGroupAll), rbacv1.ResourceAll),
			urls(v(rbacv1.VerbAll), rbacv1.NonResourceAll)),
		clusterRole("system:discovery", nil,
			urls(v("get"), "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/")),
		clusterRole("system:monitoring", nil,
			urls(v("get"), "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*")),
		clusterRole("system:basic-user", nil,
			rule(v("create"), g("authorization.k8s.io"), "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			rule(v("create"), g("authentication.k8s.io"), "selfsubjectreviews")),
		clusterRole("system:public-info-viewer", nil,
			urls(v("get"), "/healthz", "/livez", "/readyz", "/version", "/version/")),
		clusterRole("system:auth-delegator", nil,
			rule(v("create"), g("authentication.k8s.io"), "tokenreviews"),
			rule(v("create"), g("authorization.k8s.io"), "subjectaccessreviews")),
		clusterRole("system:service-account-issuer-discovery", nil,
			urls(v("get"), "/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/")),

		aggregated("admin", map[string]string{}, aggregateToAdmin),
		aggregated("edit", map[string]string{aggregateToAdmin: "true"}, aggregateToEdit),
		aggregated("view", map[string]string{aggregateToEdit: "true"}, aggregateToView),
		clusterRole("system:aggregate-to-admin", map[string]string{aggregateToAdmin: "true"},
			rule(v("create"), g("authorization.k8s.io"), "localsubjectaccessreviews"),
			rule(readWrite, g(rbacv1.GroupName), "roles", "rolebindings")),
		clusterRole("system:aggregate-to-edit", map[string]string{aggregateToEdit: "true"},
			rule(read, g(""), "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
			rule(v("impersonate"), g(""), "serviceaccounts"),
			rule(write, g(""), "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
			rule(v("create"), g(""), "pods/eviction"),
			rule(write, g(""), "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"),
			rule(v("create"), g(""), "serviceaccounts/token"),
			rule(write, g("apps"), "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
				"deployments/rollback", "replicasets", "replicasets/scale"),
			rule(write, g("autoscaling"), "horizontalpodautoscalers"),
			rule(write, g("batch"), "jobs", "cronjobs"),
			rule(write, g("extensions"), "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
				"replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"),
			rule(write, g("policy"), "poddisruptionbudgets"),
			rule(write, g("networking.k8s.io"), "networkpolicies", "ingresses"),
			rule(readWrite, g("coordination.k8s.io"), "leases")),
		clusterRole("system:aggregate-to-view", map[string]string{aggregateToView: "true"},
			rule(read, g(""), "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
			rule(read, g(""), "limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
				"namespaces/status", "replicationcontrollers/status", "pods/log"),
			rule(read, g(""), "namespaces"),
			rule(read, g("discovery.k8s.io"), "endpointslices"),
			rule(read, g("apps"), "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
				"daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale",
				"replicasets", "replicasets/status", "replicasets/scale"),
			rule(read, g("autoscaling"), "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
			rule(read, g("batch"), "jobs", "cronjobs", "cronjobs/status", "jobs/status"),
			rule(read, g("extensions"), "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
				"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status",
				"replicationcontrollers/scale", "networkpolicies"),
			rule(read, g("policy"), "poddisruptionbudgets", "poddisruptionbudgets/status"),
			rule(read, g("networking.k8s.io"), "networkpolicies", "ingresses", "ingresses/status")),

		clusterRole("system:node-bootstrapper", nil,
			rule(v("create", "get", "list", "watch"), g("certificates.k8s.io"), "certificatesigningrequests")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient", nil,
			rule(v("create"), g("certificates.k8s.io"), "certificatesigningrequests/nodeclient")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", nil,
			rule(v("create"), g("certificates.k8s.io"), "certificatesigningrequests/selfnodeclient")),
		approver("system:certificates.k8s.io:kube-apiserver-client-approver", "kubernetes.io/kube-apiserver-client"),
		approver("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "kubernetes.io/kube-apiserver-client-kubelet"),
		approver("system:certificates.k8s.io:kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
		approver("system:certificates.k8s.io:legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
	}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func clusterRoleBinding(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: map[string]string{bootstrappingLabel: "rbac-defaults"},
			Annotations: map[string]string{autoUpdateAnnotation: "true"},
		},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: subjects,
	}
}

// ClusterRoleBindings is kube's default bindings, plus the bindings kubeadm
// makes for node bootstrap: bootstrap-token users may create CSRs and get
// node client certificates auto-approved; nodes may renew their own.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	return []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", "cluster-admin", group(user.SystemPrivilegedGroup)),
		clusterRoleBinding("system:monitoring", "system:monitoring", group("system:monitoring")),
		clusterRoleBinding("system:discovery", "system:discovery", group(user.AllAuthenticated)),
		clusterRoleBinding("system:basic-user", "system:basic-user", group(user.AllAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", "system:public-info-viewer", group(user.AllAuthenticated), group(user.AllUnauthenticated)),
		clusterRoleBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", group("system:serviceaccounts")),
		clusterRoleBinding("petset:node-bootstrapper", "system:node-bootstrapper", group(BootstrappersGroup)),
		clusterRoleBinding("petset:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group(BootstrappersGroup)),
		clusterRoleBinding("petset:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", group(NodesGroup)),
	}
}
