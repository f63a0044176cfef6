package apiclient

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	restclient "k8s.io/client-go/rest"
)

// recorder is an API server stand-in that records the bodies it was sent.
type recorder struct {
	name string
	mu   sync.Mutex
	got  []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, req.Method+" "+req.URL.Path+" "+string(b))
	r.mu.Unlock()
	_, _ = io.WriteString(w, r.name)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// TestFailoverSendsToTheServerThatAnswers: with the first server not
// listening, requests (with their bodies) reach the second; once the second
// is gone too, the third; each request reaches exactly one server.
func TestFailoverSendsToTheServerThatAnswers(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "https://" + dead.Addr().String()
	dead.Close()
	b, c := &recorder{name: "b"}, &recorder{name: "c"}
	sb, sc := httptest.NewTLSServer(b), httptest.NewTLSServer(c)
	defer sc.Close()
	servers, err := ParseServers(deadURL + ", " + sb.URL + "," + sc.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &restclient.Config{TLSClientConfig: restclient.TLSClientConfig{
		CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sb.Certificate().Raw}),
	}}
	if err := Failover(context.Background(), cfg, servers); err != nil {
		t.Fatal(err)
	}
	if cfg.Host != deadURL {
		t.Fatalf("Host %q, want the first server %q", cfg.Host, deadURL)
	}
	rt, err := restclient.TransportFor(restclient.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
	post := func(body string) (string, error) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, cfg.Host+"/api/v1/namespaces/default/configmaps", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		return string(answer), nil
	}
	if got, err := post("one"); err != nil || got != "b" {
		t.Fatalf("first request answered by %q, %v; want b", got, err)
	}
	if got, err := post("two"); err != nil || got != "b" {
		t.Fatalf("second request answered by %q, %v; want b (the server that answered last)", got, err)
	}
	sb.Close()
	// A write on a connection b closed may fail (it is not sent again:
	// it might have been served); the next one reaches c.
	var cGot []string
	if got, err := post("three"); err == nil {
		if got != "c" {
			t.Fatalf("request after b stopped answered by %q, want c", got)
		}
		cGot = append(cGot, "POST /api/v1/namespaces/default/configmaps three")
	}
	if got, err := post("four"); err != nil || got != "c" {
		t.Fatalf("second request after b stopped: answered by %q, %v; want c", got, err)
	}
	want := map[*recorder][]string{
		b: {"POST /api/v1/namespaces/default/configmaps one", "POST /api/v1/namespaces/default/configmaps two"},
		c: append(cGot, "POST /api/v1/namespaces/default/configmaps four"),
	}
	for r, w := range want {
		got := r.requests()
		if len(got) != len(w) {
			t.Fatalf("server %s got %q, want %q", r.name, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("server %s got %q, want %q", r.name, got, w)
			}
		}
	}
}

func TestParseServers(t *testing.T) {
	for _, bad := range []string{"", ",", "http://a:1", "https://", "a:1", "https://a:1/path"} {
		if _, err := ParseServers(bad); err == nil {
			t.Errorf("ParseServers(%q) accepted", bad)
		}
	}
	got, err := ParseServers("https://a:1, https://b:2,")
	if err != nil || len(got) != 2 || got[0] != "https://a:1" || got[1] != "https://b:2" {
		t.Fatalf("ParseServers: %q %v", got, err)
	}
}
