package etcd_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"petset/internal/etcd"
	"petset/internal/pki"
)

// TestMembersJoinAsLearnersAndArePromoted forms a cluster of three embedded
// members as petset servers do (the first alone, each other added as a
// learner through a member, started with the initial cluster it was given,
// then promoted), and checks the cluster holds every member as a voter,
// a write through one member is read through each, and with one member
// stopped the other two still accept and keep writes. Loopback ports
// 17060-17065.
func TestMembersJoinAsLearnersAndArePromoted(t *testing.T) {
	ctx := context.Background()
	f := pki.Files{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := f.EnsureEtcd(); err != nil {
		t.Fatal(err)
	}
	creds := etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdClientCert(), KeyFile: f.EtcdClientKey()}
	url := func(port int) string { return fmt.Sprintf("https://127.0.0.1:%d", port) }
	member := func(i int) etcd.Config {
		return etcd.Config{
			Dir:     t.TempDir(),
			Serving: etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdServerCert(), KeyFile: f.EtcdServerKey()},
			Peer:    etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdPeerCert(), KeyFile: f.EtcdPeerKey()},
			Name:    fmt.Sprintf("m%d", i), ClientURL: url(17060 + 2*i), PeerURL: url(17061 + 2*i),
		}
	}
	client := func(endpoints ...string) *clientv3.Client {
		cfg, err := etcd.ClientConfig(ctx, endpoints, creds)
		if err != nil {
			t.Fatal(err)
		}
		c, err := clientv3.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	first, err := etcd.Start(ctx, member(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Close)
	servers := []*etcd.Server{first}
	for i := 1; i < 3; i++ {
		// Joined through the member before it, as a server joins through any.
		via := client(servers[i-1].ClientURL())
		cfg := member(i)
		id, initial, err := etcd.AddLearner(ctx, via, cfg.Name, cfg.PeerURL)
		if err != nil {
			t.Fatalf("add member %d: %v", i, err)
		}
		// A retried join (the first start failed) gets the same member.
		again, initial2, err := etcd.AddLearner(ctx, via, cfg.Name, cfg.PeerURL)
		if err != nil || again != id || initial2 != initial {
			t.Fatalf("retried add of member %d: %x %q %v, want %x %q", i, again, initial2, err, id, initial)
		}
		cfg.Join, cfg.InitialCluster = true, initial
		s, err := etcd.Start(ctx, cfg)
		if err != nil {
			t.Fatalf("start member %d: %v", i, err)
		}
		t.Cleanup(s.Close)
		if self := s.Self(); self.ID != id || !self.Learner {
			t.Fatalf("member %d is %+v, want learner %x", i, self, id)
		}
		if err := etcd.Promote(ctx, client(s.PeerClientURLs()...), id); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
		// A member that started cannot be added again at its peer URL.
		if _, _, err := etcd.AddLearner(ctx, via, "other", cfg.PeerURL); err == nil {
			t.Fatalf("a second member at member %d's peer URL was added", i)
		}
	}
	list, err := client(first.ClientURL()).MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Members) != 3 {
		t.Fatalf("members: %v", list.Members)
	}
	for _, m := range list.Members {
		if m.IsLearner || m.Name == "" {
			t.Fatalf("member %s (%x) learner=%v, want three started voters", m.Name, m.ID, m.IsLearner)
		}
	}

	if _, err := client(servers[2].ClientURL()).Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	for i, s := range servers {
		resp, err := client(s.ClientURL()).Get(ctx, "/k")
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
			t.Fatalf("member %d reads %v %v", i, resp, err)
		}
	}
	// 3 members tolerate the loss of 1.
	first.Close()
	if _, err := client(servers[1].ClientURL()).Put(ctx, "/k2", "v2"); err != nil {
		t.Fatalf("write with one of three members stopped: %v", err)
	}
	resp, err := client(servers[2].ClientURL()).Get(ctx, "/k2")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("read with one of three members stopped: %v %v", resp, err)
	}
}
