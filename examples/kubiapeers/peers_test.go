package kubiapeers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"petset/examples/internal/apptest"
	"petset/examples/kubia"
)

// peer is one running kubiapeers pod.
type peer struct {
	name string
	srv  *httptest.Server
}

func TestPeersGatherData(t *testing.T) {
	const svc = "kubia.default.svc.cluster.local"
	names := []string{"kubia-0", "kubia-1", "kubia-2"}
	table := apptest.SRVTable{}
	addrOf := map[string]string{} // peer FQDN:port -> test server address
	// Peers dial through a transport that maps the pod names to the test
	// servers, as cluster DNS would.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if real, ok := addrOf[addr]; ok {
			return d.DialContext(ctx, network, real)
		}
		return nil, errors.New("dial " + addr + ": no route to host")
	}}}
	var peers []peer
	for _, n := range names {
		h := &Handler{
			Store:    &kubia.Handler{Hostname: n, DataFile: filepath.Join(t.TempDir(), "kubia.txt")},
			Service:  svc,
			PeerPort: 8080,
			Resolver: table,
			Client:   client,
		}
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		fqdn := n + ".kubia.default.svc.cluster.local"
		addrOf[fqdn+":8080"] = s.Listener.Addr().String()
		table[svc] = append(table[svc], &net.SRV{Target: fqdn + ".", Port: 8080, Weight: 33})
		peers = append(peers, peer{n, s})
	}

	if _, got := apptest.Call(t, "POST", peers[0].srv.URL+"/", "Hello from kubia-0"); got != "Data stored on pod kubia-0\n" {
		t.Fatalf("POST = %q", got)
	}
	apptest.Call(t, "POST", peers[2].srv.URL+"/", "two")
	if _, got := apptest.Call(t, "GET", peers[0].srv.URL+"/data", ""); got != "Hello from kubia-0" {
		t.Fatalf("/data = %q", got)
	}
	want := "You've hit kubia-1\nData stored in the cluster:\n" +
		"- kubia-0.kubia.default.svc.cluster.local: Hello from kubia-0\n" +
		"- kubia-1.kubia.default.svc.cluster.local: No data posted yet\n" +
		"- kubia-2.kubia.default.svc.cluster.local: two\n"
	if _, got := apptest.Call(t, "GET", peers[1].srv.URL+"/", ""); got != want {
		t.Fatalf("GET =\n%q\nwant\n%q", got, want)
	}

	// A peer that cannot be reached is reported, the others still are.
	table[svc] = append(table[svc], &net.SRV{Target: "kubia-3.kubia.default.svc.cluster.local.", Port: 8080})
	_, got := apptest.Call(t, "GET", peers[1].srv.URL+"/", "")
	if !strings.Contains(got, "- kubia-3.kubia.default.svc.cluster.local: Error: ") || !strings.Contains(got, "- kubia-2.kubia.default.svc.cluster.local: two\n") {
		t.Fatalf("GET with a dead peer = %q", got)
	}
}

func TestLookupFailureAndNoPeers(t *testing.T) {
	h := &Handler{
		Store:    &kubia.Handler{Hostname: "kubia-0", DataFile: filepath.Join(t.TempDir(), "kubia.txt")},
		Service:  "kubia.default.svc.cluster.local",
		PeerPort: 8080,
		Resolver: apptest.SRVTable{"empty.default.svc.cluster.local": nil},
	}
	s := httptest.NewServer(h)
	defer s.Close()
	_, got := apptest.Call(t, "GET", s.URL+"/", "")
	if !strings.HasPrefix(got, "You've hit kubia-0\nData stored in the cluster:\nCould not look up DNS SRV records: ") {
		t.Fatalf("lookup failure = %q", got)
	}
	empty := *h
	empty.Service = "empty.default.svc.cluster.local"
	s2 := httptest.NewServer(&empty)
	defer s2.Close()
	if _, got := apptest.Call(t, "GET", s2.URL+"/", ""); got != "You've hit kubia-0\nData stored in the cluster:\nNo peers discovered." {
		t.Fatalf("no peers = %q", got)
	}
}
