// Package dnsutils stands in for the tutum/dnsutils image on hosts without
// BIND's tools (`petset example dnsutils <command> [args]`): it runs `dig`,
// `nslookup` and `host` as small Go implementations on github.com/miekg/dns
// that read the pod's /etc/resolv.conf (nameserver, search, ndots) and print
// output in the shape of the BIND tools, `sleep` (including
// `sleep infinity`), and executes any other command from PATH, so the
// image's "args replace the command" rule still holds
// (`kubectl run --image=tutum/dnsutils -- dig SRV kubia.default.svc.cluster.local`).
//
// The supported dig syntax is `dig [@server] [-p port] [-t type] [-x addr]
// [type] [class] name [+short] [+tcp] [+search]`; unsupported options are
// errors, not silently ignored.
//
// Everything runs on the calling goroutine; Main returns when the command
// is done (or ctx ends, for sleep and queries).
package dnsutils
