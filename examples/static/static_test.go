package static

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServesLikeNginxDefaultSite(t *testing.T) {
	root := t.TempDir()
	log := &syncBuffer{}
	s := httptest.NewServer(&Handler{Root: root, AccessLog: log})
	defer s.Close()

	if code, body := fetch(t, s.URL+"/"); code != http.StatusForbidden || !strings.Contains(body, "403 Forbidden") {
		t.Fatalf("empty root: %d %q", code, body)
	}
	// Seed 004: kubectl exec ... sh -c 'echo ... > /usr/share/nginx/html/index.html'
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("Hostname: nginx-sts-0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := fetch(t, s.URL+"/"); code != http.StatusOK || body != "Hostname: nginx-sts-0\n" {
		t.Fatalf("index: %d %q", code, body)
	}
	if code, _ := fetch(t, s.URL+"/missing.html"); code != http.StatusNotFound {
		t.Fatalf("missing: %d", code)
	}
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, s.URL+"/sub"); code != http.StatusMovedPermanently {
		t.Fatalf("dir without slash: %d", code)
	}
	if code, _ := fetch(t, s.URL+"/sub/"); code != http.StatusForbidden {
		t.Fatalf("dir without index: %d", code)
	}
	if code, _ := fetch(t, s.URL+"/../../etc/passwd"); code != http.StatusNotFound {
		t.Fatalf("escape attempt: %d", code)
	}
	// The log line is written after the response; wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(log.String(), `"GET / HTTP/1.1" 200 22`) {
		if time.Now().After(deadline) {
			t.Fatalf("access log:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
