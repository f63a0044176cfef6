package apptest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// client sends each request once and hands redirects back unfollowed, so a
// test sees the status the app answered.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Call sends method to url with body and returns the status and response
// body; it fails the test only if the request cannot be made or read.
func Call(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// SRVTable answers SRV look-ups of a service name from a fixed table, as
// cluster DNS would for a pod in namespace default: a name without
// "cluster.local" is completed with ".default.svc.cluster.local.". An
// unknown name is NXDOMAIN.
type SRVTable map[string][]*net.SRV

// LookupSRV implements the apps' SRVResolver (as *net.Resolver does) for
// look-ups by full name only (service and proto empty).
func (s SRVTable) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	if service != "" || proto != "" {
		return "", nil, errors.New("unexpected service/proto")
	}
	recs, ok := s[name]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	if !strings.Contains(name, "cluster.local") {
		name += ".default.svc.cluster.local"
	}
	return strings.TrimSuffix(name, ".") + ".", recs, nil
}

// Log is an io.Writer safe for concurrent use that tells waiters of each
// write.
type Log struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed and replaced on each write
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitFor waits until the log holds phrase, woken by each write; the bound
// only keeps a broken test from hanging.
func (l *Log) WaitFor(t testing.TB, phrase string) {
	t.Helper()
	bound := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), phrase) {
			l.mu.Unlock()
			return
		}
		if l.written == nil {
			l.written = make(chan struct{})
		}
		written := l.written
		l.mu.Unlock()
		select {
		case <-written:
		case <-bound:
			t.Fatalf("log never held %q:\n%s", phrase, l.String())
		}
	}
}
