package apiclient

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestFailoverMovesOnFromAServerThatDoesNotAnswer: a server that accepts
// requests and answers none (a paused process, a machine gone without a
// reset) holds a request until its deadline; the next request goes to the
// next server instead of waiting on the same one again.
func TestFailoverMovesOnFromAServerThatDoesNotAnswer(t *testing.T) {
	arrived := make(chan string, 10)
	release := make(chan struct{})
	silent := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived <- req.URL.Path
		<-release
	}))
	defer silent.Close()
	defer close(release)
	b := &recorder{name: "b"}
	sb := httptest.NewTLSServer(b)
	defer sb.Close()
	cfg := &restclient.Config{TLSClientConfig: restclient.TLSClientConfig{
		CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sb.Certificate().Raw}),
	}}
	if err := Failover(context.Background(), cfg, []string{silent.URL, sb.URL}); err != nil {
		t.Fatal(err)
	}
	rt, err := restclient.TransportFor(restclient.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
	get := func(ctx context.Context, path string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
		if err != nil {
			return "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		return string(answer), nil
	}
	// The silent server never answers, so the first request ends at its
	// deadline, however short.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if got, err := get(ctx, "/first"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first request: answered %q, %v; want its deadline exceeded at the silent server", got, err)
	}
	if path := <-arrived; path != "/first" {
		t.Fatalf("the silent server got %s, want /first", path)
	}
	// The second, without a deadline, must not wait on the silent server.
	answer := make(chan string, 1)
	go func() {
		got, err := get(context.Background(), "/second")
		if err != nil {
			got = err.Error()
		}
		answer <- got
	}()
	select {
	case path := <-arrived:
		t.Fatalf("the request after a deadline passed went to the silent server again (%s)", path)
	case got := <-answer:
		if got != "b" {
			t.Fatalf("second request answered %q, want b", got)
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
