package node

import (
	"net/http"
	"testing"
	"time"

	restclient "k8s.io/client-go/rest"

	"petset/internal/agent"
)

// TestHeartbeatConfig: the lease's and status's client times out as
// kubelet's heartbeat client does (the status update frequency, at most
// the lease duration), keeps the node's transport wrappers (failover among
// servers) and leaves the node's own config without a timeout (its watches
// last).
func TestHeartbeatConfig(t *testing.T) {
	for _, tc := range []struct {
		lease, want time.Duration
	}{
		{0, agent.DefaultStatusUpdateFrequency},
		{40 * time.Second, agent.DefaultStatusUpdateFrequency},
		{8 * time.Second, 8 * time.Second},
	} {
		node := &restclient.Config{Host: "https://10.0.0.1:6443"}
		// Stands in for apiclient.Failover's wrapper.
		node.Wrap(func(rt http.RoundTripper) http.RoundTripper { return rt })
		hb := heartbeatConfig(node, tc.lease)
		if hb.Timeout != tc.want {
			t.Errorf("lease %v: heartbeat timeout %v, want %v", tc.lease, hb.Timeout, tc.want)
		}
		if hb.WrapTransport == nil || hb.Host != node.Host {
			t.Errorf("lease %v: heartbeat config lost the node's host or transport wrappers: %+v", tc.lease, hb)
		}
		if node.Timeout != 0 {
			t.Errorf("lease %v: the node's own config got a timeout %v", tc.lease, node.Timeout)
		}
	}
}
