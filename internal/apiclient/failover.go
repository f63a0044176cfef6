package apiclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	restclient "k8s.io/client-go/rest"

	"petset/internal/logging"
)

// ParseServers splits a comma-separated list of API server URLs
// (https://host:port,...), as petset agent --server takes it.
func ParseServers(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("API server %q: want https://host:port", s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no API server URL")
	}
	return out, nil
}

// Failover makes cfg's clients reach whichever of servers (API servers of
// one cluster, https URLs) answers. Requests go to the server that
// answered last (the first at the start). When a connection to it cannot
// be made — the request was not sent — or a read (GET, HEAD) fails, the
// same request goes to the next server, and so on once round the list; any
// other transport error (a write whose connection was lost: it may have
// been served) is returned as it is, and the next request starts at the
// next server. So does a request whose context's deadline passed before
// the server answered (a paused or vanished server accepts connections,
// or keeps an open one, and answers nothing).
// cfg.Host becomes servers[0]. Every client made from cfg or a copy of it
// shares the choice of server. Each server's certificate is verified for
// its own address, as for a single server. A change of server is logged
// with ctx's logger.
func Failover(ctx context.Context, cfg *restclient.Config, servers []string) error {
	if len(servers) == 0 {
		return errors.New("no API server URL")
	}
	f := &failover{log: logging.FromContext(ctx)}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return fmt.Errorf("API server %q: want https://host:port", s)
		}
		f.servers = append(f.servers, u)
	}
	cfg.Host = servers[0]
	if len(servers) == 1 {
		return nil
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &failoverTransport{f: f, next: rt} })
	return nil
}

// failover is the servers and the one in use, shared by every transport
// built from one config.
type failover struct {
	servers []*url.URL
	current atomic.Int64
	log     *slog.Logger
}

type failoverTransport struct {
	f    *failover
	next http.RoundTripper
}

func (t *failoverTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := int64(len(t.f.servers))
	start := t.f.current.Load()
	var lastErr error
	for i := int64(0); i < n; i++ {
		idx := (start + i) % n
		r := req.Clone(req.Context())
		s := t.f.servers[idx]
		r.URL.Scheme, r.URL.Host, r.Host = s.Scheme, s.Host, ""
		if i > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("request body for another API server: %w", err)
			}
			r.Body = body
		}
		resp, err := t.next.RoundTrip(r)
		if err == nil {
			if idx != start {
				t.f.move(start, idx, nil)
			}
			return resp, nil
		}
		lastErr = err
		if ctxErr := req.Context().Err(); ctxErr != nil {
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				// The server did not answer within the caller's time: it
				// may be paused, overloaded or gone without a reset, and
				// the next request would wait on it again. That one
				// starts at the next server.
				t.f.move(start, (idx+1)%n, err)
			}
			return nil, err
		}
		replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if !(notSent(err) || req.Method == http.MethodGet || req.Method == http.MethodHead) || !replayable {
			// It may have been served: the caller decides; the next
			// request tries the next server.
			t.f.move(start, (idx+1)%n, err)
			return nil, err
		}
	}
	return nil, lastErr
}

// move makes to the server in use if from still is (another request may
// have moved it already), and logs the change.
func (f *failover) move(from, to int64, err error) {
	if from == to || !f.current.CompareAndSwap(from, to) {
		return
	}
	if err != nil {
		f.log.Info("API server changed", "from", f.servers[from].Host, "to", f.servers[to].Host, "reason", err.Error())
		return
	}
	f.log.Info("API server changed", "from", f.servers[from].Host, "to", f.servers[to].Host)
}

// notSent reports whether err is a failure to connect: the request never
// left, so sending it elsewhere cannot do it twice.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// CancelRequest lets client-go cancel requests through this transport as
// through the one it wraps.
func (t *failoverTransport) CancelRequest(req *http.Request) {
	if c, ok := t.next.(interface{ CancelRequest(*http.Request) }); ok {
		c.CancelRequest(req)
	}
}

// WrappedRoundTripper is the transport this one wraps (client-go's
// utilnet.RoundTripperWrapper).
func (t *failoverTransport) WrappedRoundTripper() http.RoundTripper { return t.next }
