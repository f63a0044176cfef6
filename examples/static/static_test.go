package static

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"petset/examples/internal/apptest"
)

func TestServesLikeNginxDefaultSite(t *testing.T) {
	root := t.TempDir()
	log := &apptest.Log{}
	s := httptest.NewServer(&Handler{Root: root, AccessLog: log})
	defer s.Close()

	if code, body := apptest.Call(t, "GET", s.URL+"/", ""); code != http.StatusForbidden || !strings.Contains(body, "403 Forbidden") {
		t.Fatalf("empty root: %d %q", code, body)
	}
	// Seed 004: kubectl exec ... sh -c 'echo ... > /usr/share/nginx/html/index.html'
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("Hostname: nginx-sts-0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := apptest.Call(t, "GET", s.URL+"/", ""); code != http.StatusOK || body != "Hostname: nginx-sts-0\n" {
		t.Fatalf("index: %d %q", code, body)
	}
	if code, _ := apptest.Call(t, "GET", s.URL+"/missing.html", ""); code != http.StatusNotFound {
		t.Fatalf("missing: %d", code)
	}
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _ := apptest.Call(t, "GET", s.URL+"/sub", ""); code != http.StatusMovedPermanently {
		t.Fatalf("dir without slash: %d", code)
	}
	if code, _ := apptest.Call(t, "GET", s.URL+"/sub/", ""); code != http.StatusForbidden {
		t.Fatalf("dir without index: %d", code)
	}
	if code, _ := apptest.Call(t, "GET", s.URL+"/../../etc/passwd", ""); code != http.StatusNotFound {
		t.Fatalf("escape attempt: %d", code)
	}
	// The log line is written after the response; wait for it.
	log.WaitFor(t, `"GET / HTTP/1.1" 200 22`)
}

// Without its document root (nothing mounted there, a read-only root
// filesystem) the server answers with the image's welcome page, as the
// nginx image's own default site does.
func TestServesWelcomePageWithoutARoot(t *testing.T) {
	s := httptest.NewServer(&Handler{})
	defer s.Close()
	for _, p := range []string{"/", "/index.html"} {
		if code, body := apptest.Call(t, "GET", s.URL+p, ""); code != http.StatusOK || !strings.Contains(body, "<title>Welcome to nginx!</title>") {
			t.Errorf("GET %s: %d %q", p, code, body)
		}
	}
	if code, _ := apptest.Call(t, "GET", s.URL+"/other.html", ""); code != http.StatusNotFound {
		t.Errorf("GET /other.html: %d, want 404", code)
	}
}
