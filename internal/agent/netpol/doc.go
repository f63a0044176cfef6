// Package netpol enforces networking.k8s.io/v1 NetworkPolicies for the
// pods of one node's bridge, as a CNI such as Calico or Cilium does.
//
// Compute (rules.go) is pure: from every policy, pod and namespace of the
// cluster and the node's name it finds the node's pods that some policy
// isolates (for Ingress, Egress or both) and, for each, the union of what
// the policies selecting it allow: address sets (pod IPs the peers'
// podSelector/namespaceSelector select, ipBlock CIDRs without their
// excepts), protocols (TCP, UDP, SCTP) and destination ports (a number, a
// range with endPort, or a named container port: the destination pod's,
// so for egress one match per port number the peers resolve it to). Pods
// of other nodes contribute only their addresses to sets. The node's
// cluster DNS takes part as a kube-system pod labelled k8s-app=kube-dns.
//
// Table (nftables.go) writes those rules as one nftables table of family
// ip, "petset-netpol-<bridge>" (github.com/google/nftables, as the fence
// and the service proxy), replaced in one transaction: forward and input
// chains accept established and related packets (conntrack), send a new
// connection from an egress-isolated local pod through its egress chain
// and one to an ingress-isolated local pod through its ingress chain, and
// drop what no match allows. So ingress is enforced on the destination's
// node and egress on the source's; routed traffic (other nodes, Services
// after DNAT) passes the forward hook, and traffic between pods of one
// bridge does too through br_netfilter (the Enforcer warns when it is
// off). The node's own traffic to its pods (probes) is not filtered.
//
// The Enforcer (netpol.go) runs it: informers of pods, namespaces and
// policies only signal a channel; Run's loop recomputes and, when the
// rules changed, rewrites the table, at most once per MinSyncPeriod, and
// is the table's only writer; when it returns it removes the table, or
// keeps it (KeepTable) for pods that outlive the agent.
//
// What is enforced and what is not: docs/networkpolicy.md.
package netpol
