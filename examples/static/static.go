package static

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"petset/examples/appserver"
)

// DefaultRoot is the document root of the nginx image's default site.
const DefaultRoot = "/usr/share/nginx/html"

// Handler serves files under Root. With Root "" (the document root does not
// exist and cannot be made: a pod that mounts nothing there, on a read-only
// root filesystem) it serves the image's own default site, its welcome page.
type Handler struct {
	Root      string
	AccessLog io.Writer // nil: no access log
}

// welcomePage is the default site's index page, as the nginx image ships one.
const welcomePage = `<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>The web server is running. Mount your site on /usr/share/nginx/html to serve it.</p>
</body>
</html>
`

var indexFiles = []string{"index.html", "index.htm"}

// ServeHTTP serves GET and HEAD; other methods get 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.serve(rec, r)
	if h.AccessLog != nil {
		fmt.Fprintf(h.AccessLog, "%s - - [%s] \"%s %s %s\" %d %d \"%s\" \"%s\"\n",
			hostOf(r.RemoteAddr), time.Now().Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.RequestURI, r.Proto,
			rec.status, rec.bytes, orDash(r.Referer()), orDash(r.UserAgent()))
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		errorPage(w, http.StatusMethodNotAllowed)
		return
	}
	clean := path.Clean("/" + r.URL.Path)
	if h.Root == "" {
		if clean != "/" && clean != "/index.html" {
			errorPage(w, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		http.ServeContent(w, r, "index.html", time.Time{}, strings.NewReader(welcomePage))
		return
	}
	name := filepath.Join(h.Root, filepath.FromSlash(clean))
	fi, err := os.Stat(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			errorPage(w, http.StatusNotFound)
		} else {
			errorPage(w, http.StatusForbidden)
		}
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		found := false
		for _, idx := range indexFiles {
			p := filepath.Join(name, idx)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				name, fi, found = p, st, true
				break
			}
		}
		if !found {
			errorPage(w, http.StatusForbidden)
			return
		}
	}
	f, err := os.Open(name)
	if err != nil {
		errorPage(w, http.StatusForbidden)
		return
	}
	defer f.Close()
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

func errorPage(w http.ResponseWriter, code int) {
	text := fmt.Sprintf("%d %s", code, http.StatusText(code))
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", text, text)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Main runs the server: `static [--root /usr/share/nginx/html] [--listen :80]`.
// It serves until ctx is done.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("static", flag.ContinueOnError)
	root := fs.String("root", DefaultRoot, "directory to serve")
	listen := fs.String("listen", ":80", "address to serve HTTP on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h := &Handler{Root: *root, AccessLog: os.Stdout}
	if err := os.MkdirAll(*root, 0o755); err != nil {
		if _, statErr := os.Stat(*root); !errors.Is(statErr, os.ErrNotExist) {
			return fmt.Errorf("document root: %w", err)
		}
		h.Root = ""
	}
	return appserver.Serve(ctx, "static web", *listen, h, "root", *root)
}
