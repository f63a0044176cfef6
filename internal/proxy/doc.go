// Package proxy is the node's service proxy, kube-proxy's nftables mode in
// the agent: ClusterIP Services route, from the node's pods and from the
// node itself, to their ready endpoints.
//
// From Services and EndpointSlices (informers of the node's client) it
// computes one rule set (Rules) and installs it as one nftables table of
// its own, "petset-<bridge>" in family ip, replaced atomically at each
// change (github.com/google/nftables; no nft binary needed):
//
//   - nat prerouting (dstnat), only for packets entering from the node's
//     pod bridge, and nat output (the node's own traffic): per Service IP,
//     protocol and port, DNAT to one ready endpoint chosen at random with
//     the iptables "statistic" scheme (rule i of n matches with
//     probability 1/(n-i), so each endpoint gets 1/n); internalTrafficPolicy
//     Local keeps only endpoints of this node. The packet is marked
//     0x4000.
//   - nat postrouting (srcnat): marked packets are masqueraded. petset
//     masquerades all Service traffic, as kube-proxy --masquerade-all: the
//     pods share one L2 bridge without br_netfilter, so the reply of a pod
//     to a pod of the same bridge would otherwise bypass the host and its
//     conntrack, and the hairpin case (a pod reaching itself) needs it too.
//   - filter input/forward/output (priority filter-10): a Service IP and
//     port without a ready endpoint is rejected with ICMP port-unreachable
//     (connection refused), as kube-proxy does; forwarded traffic from the
//     bridge that no Service rule translated is dropped when the bridge did
//     not forward before (the proxy enables IPv4 forwarding on the bridge
//     only, for pod-to-pod Service traffic, and keeps the pods from
//     reaching anything else through it). Traffic that stays on the bridge
//     (pod to pod, which with br_netfilter passes the forward hook with
//     the bridge as both interfaces) is never dropped.
//
// Several `petset up` on one machine each have their own table (named after
// their bridge), and their pod-side rules match only their bridge; the
// node-side (output) rules match the Service IPs, so side-by-side instances
// need distinct --service-cidr. The table is removed, and the bridge's
// forwarding setting restored, when Run returns.
//
// Not done: NodePort, LoadBalancer, externalIPs, sessionAffinity ClientIP,
// IPv6, SCTP, topology hints; a Service with externalTrafficPolicy is
// routed as Cluster.
//
// Concurrency: the informers' handlers only signal a channel; Run's loop
// recomputes and installs the whole table (at most once per
// MinSyncPeriod) and is the only writer of the table.
package proxy
