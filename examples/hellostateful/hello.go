package hellostateful

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"

	"petset/examples/appserver"
)

// Defaults of the seed's app.
const (
	DefaultFile    = "/etc/stateful/hello"
	DefaultService = "hello-stateful-service"
)

// SRVResolver looks up SRV records; *net.Resolver implements it.
type SRVResolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// Handler serves /store and /get.
type Handler struct {
	Hostname string
	File     string
	Service  string
	Resolver SRVResolver // nil: net.DefaultResolver
	mu       sync.Mutex
	mux      *http.ServeMux
	once     sync.Once
}

// ServeHTTP routes /store and /get; other paths are 404 as with the seed's
// http.HandleFunc registrations.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		h.mux = http.NewServeMux()
		h.mux.HandleFunc("/store", h.store)
		h.mux.HandleFunc("/get", h.get)
	})
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) store(w http.ResponseWriter, r *http.Request) {
	greeting := "hello from v2:" + h.Hostname
	if err := h.appendBody(r, greeting); err != nil {
		slog.Error("store", "err", err)
		return // the seed answers nothing on error
	}
	_, _ = w.Write([]byte(greeting))
}

func (h *Handler) appendBody(r *http.Request, greeting string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, err := os.OpenFile(h.File, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open file: %w", err)
	}
	defer f.Close()
	n, err := bufio.NewReader(r.Body).WriteTo(f)
	if err != nil {
		return fmt.Errorf("write to file: %w", err)
	}
	if n == 0 {
		if _, err := f.WriteString(greeting); err != nil {
			return fmt.Errorf("write hello: %w", err)
		}
	}
	return nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	var res SRVResolver = net.DefaultResolver
	if h.Resolver != nil {
		res = h.Resolver
	}
	cname, srv, err := res.LookupSRV(r.Context(), "", "", h.Service)
	if err != nil {
		slog.Error("lookup ip failed", "err", err)
	}
	var buf bytes.Buffer
	buf.WriteString(cname + "\n")
	for _, s := range srv {
		fmt.Fprintf(&buf, "%s:%d\n", s.Target, s.Port)
	}
	_, _ = w.Write(buf.Bytes())
}

// Main runs the app: `hellostateful [--listen :8000] [--file /etc/stateful/hello]
// [--service hello-stateful-service]`. It serves until ctx is done.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hellostateful", flag.ContinueOnError)
	listen := fs.String("listen", ":8000", "address to serve HTTP on")
	file := fs.String("file", DefaultFile, "file /store appends to")
	service := fs.String("service", DefaultService, "name /get looks up SRV records of")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	return appserver.Serve(ctx, "hello-stateful", *listen, &Handler{Hostname: host, File: *file, Service: *service})
}
