package nodeauth

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"petset/internal/pvnode"
)

// Node identities.
const (
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
	// LeaseNamespace holds the nodes' heartbeat leases.
	LeaseNamespace = "kube-node-lease"
)

// NodeAuth is the Node authorizer and the NodeRestriction admission plugin
// over one graph of pods. It is created before the API server serves and
// starts deciding once Run has its informers synced.
type NodeAuth struct {
	graph  atomic.Pointer[graph]
	synced chan struct{}
}

// New returns a NodeAuth that is not ready until Run.
func New() *NodeAuth { return &NodeAuth{synced: make(chan struct{})} }

// Ready is closed once the informers have synced.
func (n *NodeAuth) Ready() <-chan struct{} { return n.synced }

// Run runs the informers (over client, which must read every pod and claim)
// until ctx ends.
func (n *NodeAuth) Run(ctx context.Context, client kubernetes.Interface) error {
	g, err := newGraph(client)
	if err != nil {
		return err
	}
	n.graph.Store(g)
	g.factory.Start(ctx.Done())
	if cache.WaitForCacheSync(ctx.Done(), g.synced...) {
		close(n.synced)
	}
	<-ctx.Done()
	g.factory.Shutdown()
	return nil
}

// ready is the graph once synced, or nil.
func (n *NodeAuth) ready() *graph {
	if g := n.graph.Load(); g != nil && g.hasSynced() {
		return g
	}
	return nil
}

// NodeName returns the node a user is, if it is one: system:node:<name> in
// group system:nodes.
func NodeName(u user.Info) (string, bool) {
	if u == nil || !strings.HasPrefix(u.GetName(), NodeUserPrefix) {
		return "", false
	}
	for _, g := range u.GetGroups() {
		if g == NodesGroup {
			name := strings.TrimPrefix(u.GetName(), NodeUserPrefix)
			return name, name != ""
		}
	}
	return "", false
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"update", "patch"}
)

func oneOf(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// Authorize decides node requests; it has no opinion on anyone else's, nor
// on node requests it does not allow (the next authorizer, or the
// default deny, decides those).
func (n *NodeAuth) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	node, ok := NodeName(a.GetUser())
	if !ok || !a.IsResourceRequest() {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if ok, reason := n.allowed(node, a); ok {
		return authorizer.DecisionAllow, "", nil
	} else if reason != "" {
		return authorizer.DecisionNoOpinion, reason, nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// allowed applies kube's system:node rules, narrowed by the graph.
func (n *NodeAuth) allowed(node string, a authorizer.Attributes) (bool, string) {
	verb, group, res, sub, name := a.GetVerb(), a.GetAPIGroup(), a.GetResource(), a.GetSubresource(), a.GetName()
	switch group + "/" + res {
	case "/secrets", "/configmaps":
		// get, or list and watch of one object (a metadata.name field
		// selector, which request info turns into the name): how the
		// agent follows the objects its pods name, as kubelet does.
		if !oneOf(verb, readVerbs...) || sub != "" || name == "" {
			return false, fmt.Sprintf("node %q may only read individual %s", node, res)
		}
		return n.referenced(node, res, a.GetNamespace(), name)
	case "/persistentvolumeclaims":
		if verb != "get" || sub != "" || name == "" {
			return false, fmt.Sprintf("node %q may only get individual %s", node, res)
		}
		return n.referenced(node, res, a.GetNamespace(), name)
	case "/persistentvolumes":
		switch {
		case sub == "" && verb == "get":
			return true, ""
		case sub == "" && oneOf(verb, "list", "watch"):
			// The agent reclaims its local volumes: it follows those
			// pinned to its node, and only those.
			if reqs, err := a.GetFieldSelector(); err == nil && pvnode.SelectsNode(reqs, node) {
				return true, ""
			}
			return false, fmt.Sprintf("node %q may list and watch only the persistent volumes pinned to it (fieldSelector %s)", node, pvnode.Selector(node))
		case sub == "" && oneOf(verb, writeVerbs...):
			return true, "" // NodeRestriction: only volumes pinned to the node
		}
	case "/serviceaccounts":
		if sub == "token" && verb == "create" {
			return n.referenced(node, res, a.GetNamespace(), name)
		}
	case "/nodes":
		switch {
		case sub == "" && oneOf(verb, readVerbs...):
			return true, ""
		case sub == "" && verb == "create":
			return true, "" // NodeRestriction checks the name
		case (sub == "" || sub == "status") && oneOf(verb, append(writeVerbs, "delete")...):
			if name == node {
				return true, ""
			}
			return false, fmt.Sprintf("node %q may not modify node %q", node, name)
		}
	case "/pods":
		switch {
		case sub == "" && oneOf(verb, readVerbs...):
			return true, ""
		case sub == "" && (verb == "create" || verb == "delete"):
			return true, "" // NodeRestriction: mirror pods, pods bound to the node
		case sub == "status" && oneOf(verb, writeVerbs...):
			return true, "" // NodeRestriction: pods bound to the node
		case sub == "eviction" && verb == "create":
			return true, ""
		}
	case "/services", "/endpoints", "discovery.k8s.io/endpointslices":
		// Services for pods' environment; all three for the node's cluster DNS.
		if sub == "" && oneOf(verb, readVerbs...) {
			return true, ""
		}
	case "/namespaces", "networking.k8s.io/networkpolicies":
		// Beyond kube's system:node: the agent is the node's network policy
		// enforcer (a CNI agent's read access), docs/networkpolicy.md.
		if sub == "" && oneOf(verb, readVerbs...) {
			return true, ""
		}
	case "/events", "events.k8s.io/events":
		if oneOf(verb, "create", "update", "patch") {
			return true, ""
		}
	case "coordination.k8s.io/leases":
		if a.GetNamespace() == LeaseNamespace && sub == "" {
			if verb == "create" {
				return true, "" // NodeRestriction checks the name
			}
			if oneOf(verb, "get", "update", "patch", "delete") && name == node {
				return true, ""
			}
		}
	case "certificates.k8s.io/certificatesigningrequests":
		if sub == "" && oneOf(verb, "create", "get", "list", "watch") {
			return true, ""
		}
	}
	return false, ""
}

// referenced allows a read of an object a pod bound to node refers to.
func (n *NodeAuth) referenced(node, res, namespace, name string) (bool, string) {
	g := n.ready()
	if g == nil {
		return false, "node authorizer is not ready yet"
	}
	if g.refers(node, res, namespace, name) {
		return true, ""
	}
	return false, fmt.Sprintf("no relationship found between node %q and %s %s/%s", node, res, namespace, name)
}
