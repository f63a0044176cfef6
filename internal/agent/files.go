package agent

import (
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DNS is what pods with dnsPolicy ClusterFirst are given.
type DNS struct {
	// Servers are the cluster DNS addresses; empty means pods get the
	// node's resolv.conf.
	Servers []string
	// ClusterDomain is the cluster's DNS domain; default cluster.local.
	ClusterDomain string
	// HostResolvConf is the node's resolv.conf, used for dnsPolicy Default;
	// default /etc/resolv.conf.
	HostResolvConf string
}

// podHostname returns the pod's hostname: spec.hostname, else its name.
func podHostname(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	name := pod.Name
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}

// hostsFile renders a pod's /etc/hosts as kubelet does. podIP may be empty
// when not yet known.
func hostsFile(pod *corev1.Pod, podIP, domain string) []byte {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	host := podHostname(pod)
	if podIP != "" {
		if pod.Spec.Subdomain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, host, pod.Spec.Subdomain, pod.Namespace, domain, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, host)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return []byte(b.String())
}

// resolvConf renders a pod's /etc/resolv.conf for its dnsPolicy and
// dnsConfig.
func resolvConf(pod *corev1.Pod, dns DNS) []byte {
	domain := dns.ClusterDomain
	var servers, searches, options []string
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	cluster := policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet
	if cluster && len(dns.Servers) == 0 {
		policy, cluster = corev1.DNSDefault, false
	}
	switch {
	case cluster:
		servers = append(servers, dns.Servers...)
		searches = []string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}
		options = []string{"ndots:5"}
	case policy == corev1.DNSDefault:
		servers, searches, options = parseResolvConf(dns.HostResolvConf)
	}
	if c := pod.Spec.DNSConfig; c != nil {
		servers = appendUnique(servers, c.Nameservers...)
		searches = appendUnique(searches, c.Searches...)
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			replaced := false
			for i, ex := range options {
				if name, _, _ := strings.Cut(ex, ":"); name == o.Name {
					options[i], replaced = opt, true
				}
			}
			if !replaced {
				options = append(options, opt)
			}
		}
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return []byte(b.String())
}

func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			if l == a {
				found = true
			}
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

func parseResolvConf(path string) (servers, searches, options []string) {
	if path == "" {
		path = "/etc/resolv.conf"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			servers = append(servers, f[1])
		case "search", "domain":
			searches = f[1:]
		case "options":
			options = append(options, f[1:]...)
		}
	}
	return servers, searches, options
}
