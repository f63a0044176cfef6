// Package fence keeps a node's pods off the network unless the node's agent
// has lately confirmed, with the API server, that they are still the
// node's to run.
//
// A fence is one nftables table of the bridge family in the node's network
// namespace (named petset-fence-<bridge>). Its set "allowed" holds pod
// addresses, each element with its own timeout; the kernel forgets an
// element when its timeout passes, whether or not the agent runs. Three
// base chains (input, forward, output of the bridge family) drop every IPv4
// packet on a bridge whose source (coming from a pod: input, forward) or
// destination (going to a pod: forward, output) lies in the node's pod
// network, is not the bridge's gateway address, and is not in the set. So a
// pod whose element expired neither answers nor reaches anyone, yet keeps
// running with its data: if its node comes back and the API still assigns
// it to the node, it answers again at the agent's next confirmation.
// The node's own traffic to a fenced pod is dropped too, the agent's probes
// included: a fenced pod is not ready, and the agent does not act on a
// liveness probe while its fence is closed (see the agent).
//
// Allow replaces the whole set in one netlink transaction (flush, then add
// each element with its timeout), so a pod missing from a confirmation loses
// its permission at once and no packet sees a half-written set. Ensure is
// idempotent and keeps the set when the table exists, so an agent that
// restarts does not lengthen nor cut its pods' permissions.
//
// The policy (when to confirm, for how long, which pods) is the agent's
// (internal/agent/fencing.go); the protocol and its timing argument are in
// docs/fencing.md. Only IPv4 pod networks are fenced; host-network pods are
// not on the bridge and are not fenced by this table.
package fence
