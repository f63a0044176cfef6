package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

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

// TestLeaderThatLostItsLeaseCampaignsAgain: a server whose controller
// lease was taken (as when it could not renew it in time) stops leading
// and campaigns again: once the other holder's lease has expired it holds
// the lease again and its controllers work (a new namespace gets its
// default ServiceAccount).
func TestLeaderThatLostItsLeaseCampaignsAgain(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, "")
	id := idOf(t, c)
	leases := c.client.CoordinationV1().Leases("kube-system")
	eventually(t, "the server leads", func() (bool, error) {
		l, err := leases.Get(ctx, "petset-controller-manager", metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == id, err
	})
	// Another holder takes the lease and never renews it.
	eventually(t, "the lease taken", func() (bool, error) {
		l, err := leases.Get(ctx, "petset-controller-manager", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		now := metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity = ptr.To("thief")
		l.Spec.AcquireTime, l.Spec.RenewTime = &now, &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err == nil, err
	})
	eventually(t, "the server leads again", func() (bool, error) {
		l, err := leases.Get(ctx, "petset-controller-manager", metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == id, fmt.Errorf("holder %v: %v", l.Spec.HolderIdentity, err)
	})
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-regain"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the serviceaccount controller runs again", func() (bool, error) {
		_, err := c.client.CoreV1().ServiceAccounts("after-regain").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}
