package integration

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"petset/internal/controlplane"
)

// TestTwoServersOneLeader runs two API servers on one etcd: both serve
// the same objects, one holds the controller lease, and when it stops the
// other takes the lease over.
func TestTwoServersOneLeader(t *testing.T) {
	ctx := context.Background()
	url, creds := startExternalEtcd(t)
	a := startClusterWith(t, controlplane.Config{EtcdEndpoints: []string{url}, EtcdTLS: creds})
	b := startClusterWith(t, controlplane.Config{EtcdEndpoints: []string{url}, EtcdTLS: creds})

	if _, err := a.client.CoreV1().ConfigMaps("default").Create(ctx, configMap("shared", "v"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "server b serves what a stored", func() (bool, error) {
		_, err := b.client.CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
		return err == nil, err
	})

	holder := func(c *cluster) (string, error) {
		l, err := c.client.CoordinationV1().Leases("kube-system").Get(ctx, "petset-controller-manager", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if l.Spec.HolderIdentity == nil {
			return "", fmt.Errorf("lease has no holder")
		}
		return *l.Spec.HolderIdentity, nil
	}
	var first string
	eventually(t, "a controller leader", func() (bool, error) {
		h, err := holder(b)
		first = h
		return err == nil && h != "", err
	})
	// Stop the leader; the other server takes over.
	leader, other := a, b
	if h, _ := holder(a); h != first {
		t.Fatalf("servers disagree on the holder")
	}
	if idOf(t, b) == first {
		leader, other = b, a
	}
	leader.stop()
	eventually(t, "the other server takes the lease", func() (bool, error) {
		h, err := holder(other)
		return err == nil && h != "" && h != first, fmt.Errorf("holder %q (was %q): %v", h, first, err)
	})
}

// idOf is the leader-election identity of a cluster's server.
func idOf(t *testing.T, c *cluster) string {
	t.Helper()
	return c.cp.LeaderIdentity()
}
