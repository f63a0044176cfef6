package registry

import (
	"errors"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// errAddressNotAllowed is kube's proxyutil.ErrAddressNotAllowed: the API
// server's proxy refuses a target address with this text.
var errAddressNotAllowed = errors.New("address not allowed")

// hostAddrs lists the addresses of this host's interfaces; a variable so
// that tests can give the host an address of their choosing.
var hostAddrs = func() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP)
		}
	}
	return out, nil
}

// proxyable reports whether the API server may proxy to ip: as kube's
// proxyutil.IsProxyableIP, only global unicast addresses (no loopback,
// link-local, unspecified, multicast or broadcast), and, as kube's
// host-address check, none of this host's own addresses nor any of
// others (the node's addresses), so an object's status cannot point the
// API server's credentials and network position at itself or a node.
func proxyable(ip string, others ...string) error {
	parsed := net.ParseIP(ip)
	if parsed == nil || !parsed.IsGlobalUnicast() {
		return apierrors.NewBadRequest(errAddressNotAllowed.Error())
	}
	for _, o := range others {
		if other := net.ParseIP(o); other != nil && other.Equal(parsed) {
			return apierrors.NewBadRequest(errAddressNotAllowed.Error())
		}
	}
	own, err := hostAddrs()
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	for _, h := range own {
		if h.Equal(parsed) {
			return apierrors.NewBadRequest(errAddressNotAllowed.Error())
		}
	}
	return nil
}
