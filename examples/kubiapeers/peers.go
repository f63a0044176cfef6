package kubiapeers

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"petset/examples/appserver"
	"petset/examples/kubia"
)

// Defaults of the seed's app.
const (
	DefaultService  = "kubia.default.svc.cluster.local"
	DefaultPeerPort = 8080
)

// SRVResolver looks up SRV records; *net.Resolver implements it.
type SRVResolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// Handler serves the kubia-pet-peers protocol.
type Handler struct {
	Store    *kubia.Handler // the pod's own data (POST, /data)
	Service  string         // the name whose SRV records list the peers
	PeerPort int            // the port peers serve on (the seed ignores SRV ports)
	Resolver SRVResolver    // nil: net.DefaultResolver
	Client   *http.Client   // nil: a client with a 10s timeout
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// ServeHTTP implements the seed's handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		h.Store.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/data" {
		data, err := h.Store.ReadData()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, data)
		return
	}
	fmt.Fprintf(w, "You've hit %s\nData stored in the cluster:\n", h.Store.Hostname)
	var res SRVResolver = net.DefaultResolver
	if h.Resolver != nil {
		res = h.Resolver
	}
	_, addrs, err := res.LookupSRV(r.Context(), "", "", h.Service)
	if err != nil {
		fmt.Fprintf(w, "Could not look up DNS SRV records: %v", err)
		return
	}
	if len(addrs) == 0 {
		io.WriteString(w, "No peers discovered.")
		return
	}
	replies := make([]string, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.fetch(r.Context(), strings.TrimSuffix(a.Target, "."))
		}()
	}
	wg.Wait()
	for i, a := range addrs {
		fmt.Fprintf(w, "- %s: %s\n", strings.TrimSuffix(a.Target, "."), replies[i])
	}
}

// fetch returns a peer's /data, or "Error: <message>" as the seed does.
func (h *Handler) fetch(ctx context.Context, host string) string {
	c := defaultClient
	if h.Client != nil {
		c = h.Client
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(h.PeerPort)) + "/data"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "Error: " + err.Error()
	}
	resp, err := c.Do(req)
	if err != nil {
		return "Error: " + err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "Error: " + err.Error()
	}
	return string(b)
}

// Main runs the app: `kubiapeers [--listen :8080] [--data-file /var/data/kubia.txt]
// [--service kubia.default.svc.cluster.local] [--peer-port 8080]`. It serves
// until ctx is done.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kubiapeers", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address to serve HTTP on")
	dataFile := fs.String("data-file", kubia.DefaultDataFile, "file the posted data is stored in")
	service := fs.String("service", DefaultService, "name whose SRV records list the peers")
	peerPort := fs.Int("peer-port", DefaultPeerPort, "port the peers serve on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	h := &Handler{Store: &kubia.Handler{Hostname: host, DataFile: *dataFile}, Service: *service, PeerPort: *peerPort}
	return appserver.Serve(ctx, "kubia-peers", *listen, h)
}
