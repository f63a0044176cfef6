package etcd_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"petset/internal/etcd"
	"petset/internal/etcd/etcdtest"
)

// TestInProcessClient: what the in-process client writes a network client
// (with the client certificate) reads, and a request above MaxRequestBytes
// is refused as over the network, where the client's own send limit would
// refuse it first.
func TestInProcessClient(t *testing.T) {
	ctx := context.Background()
	e, creds := etcdtest.Start(t)
	local := e.Client()
	defer local.Close()
	cfg, err := etcd.ClientConfig(ctx, []string{e.ClientURL()}, creds)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()

	if _, err := local.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Get(ctx, "/k")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v" {
		t.Fatalf("read through the network: %v %v", err, got)
	}
	_, err = local.Put(ctx, "/big", strings.Repeat("x", etcd.MaxRequestBytes+1))
	if !errors.Is(err, rpctypes.ErrRequestTooLarge) {
		t.Fatalf("put above MaxRequestBytes in-process: %v, want %v", err, rpctypes.ErrRequestTooLarge)
	}
	if _, err := local.Put(ctx, "/fits", strings.Repeat("x", etcd.MaxRequestBytes-4096)); err != nil {
		t.Fatalf("put below MaxRequestBytes in-process: %v", err)
	}
}
