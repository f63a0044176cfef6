package dns

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
)

// HostResolvers returns the nameservers of a resolv.conf (the node's
// /etc/resolv.conf): the upstreams CoreDNS' default Corefile forwards to
// ("forward . /etc/resolv.conf"). Loopback nameservers are kept (the
// cluster DNS runs in the node's network namespace, where they answer);
// addresses in skip (the cluster DNS's own listen addresses) are left out
// so that a node whose resolv.conf names the cluster DNS does not forward
// to itself. A missing file yields no upstreams.
func HostResolvers(path string, skip ...string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		ip := net.ParseIP(fields[1]) // a zoned link-local address is skipped
		if ip == nil {
			continue
		}
		own := false
		for _, s := range skip {
			own = own || net.ParseIP(s).Equal(ip)
		}
		if !own {
			out = append(out, ip.String())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}
