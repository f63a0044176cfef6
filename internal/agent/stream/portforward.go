package stream

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apiserver/pkg/util/proxy"

	"petset/internal/agent/runtime"
	"petset/internal/logging"
)

// portForwardProtocol is the SPDY subprotocol of port forwarding.
const portForwardProtocol = "portforward.k8s.io"

// sandbox returns the newest sandbox of a pod.
func (s *Server) sandbox(ctx context.Context, ns, pod string) (runtime.Sandbox, error) {
	list, err := s.cfg.Runtime.ListSandboxes(ctx)
	if err != nil {
		return runtime.Sandbox{}, fmt.Errorf("listing sandboxes: %w", err)
	}
	var found *runtime.Sandbox
	for i := range list {
		sb := &list[i]
		if sb.Namespace == ns && sb.Name == pod && (found == nil || sb.CreatedAt.After(found.CreatedAt)) {
			found = sb
		}
	}
	if found == nil {
		return runtime.Sandbox{}, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("pod %s/%s not found on this node", ns, pod)}
	}
	return *found, nil
}

// servePortForward answers /portForward/{ns}/{pod}.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	ns, pod := r.PathValue("ns"), r.PathValue("pod")
	var ports []uint16
	for _, v := range r.URL.Query()[corev1.PortHeader] {
		p, err := parsePort(v)
		if err != nil {
			writeError(w, badRequest("%v", err))
			return
		}
		ports = append(ports, p)
	}
	sb, err := s.sandbox(r.Context(), ns, pod)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.refuseSimulated(r, "port-forward"); err != nil {
		writeError(w, err)
		return
	}
	host := sb.IP
	if host == "" {
		// A host-network pod listens on the node.
		host = "127.0.0.1"
	}
	fw := &forwarder{host: host, pod: ns + "/" + pod}
	log := logging.FromContext(r.Context()).With("component", "stream").With("namespace", ns, "pod", pod)
	switch {
	case wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
		// kubectl 1.31+: SPDY inside a WebSocket.
		proxy.NewTunnelingHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := fw.serveSPDY(w, r); err != nil {
				log.Info("port-forward over tunnelled SPDY failed", logging.ErrKey, err)
			}
		})).ServeHTTP(w, r)
	case wsstream.IsWebSocketRequest(r):
		if len(ports) == 0 {
			writeError(w, badRequest("at least one port must be specified"))
			return
		}
		if err := fw.serveWebSocket(w, r, ports); err != nil {
			log.Info("port-forward over WebSocket failed", logging.ErrKey, err)
		}
	default:
		if err := fw.serveSPDY(w, r); err != nil {
			log.Info("port-forward over SPDY failed", logging.ErrKey, err)
		}
	}
}

func parsePort(v string) (uint16, error) {
	p, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("unable to parse %q as a port: %w", v, err)
	}
	if p < 1 {
		return 0, fmt.Errorf("port %q must be > 0", v)
	}
	return uint16(p), nil
}

// forwarder relays connections to one pod's ports.
type forwarder struct {
	host string
	pod  string
}

// forward connects data to the pod's port until the pod side ends. Errors
// go to errs, in words for the user.
func (f *forwarder) forward(ctx context.Context, port uint16, data io.ReadWriter, closeData func(), errs io.Writer) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(f.host, strconv.Itoa(int(port))))
	if err != nil {
		fmt.Fprintf(errs, "error forwarding port %d to pod %s: %v", port, f.pod, err)
		closeData()
		return
	}
	tcp := c.(*net.TCPConn)
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()
	var in sync.WaitGroup
	in.Add(1)
	go func() {
		defer in.Done()
		// The client's end of input is the pod's end of input.
		io.Copy(tcp, data)
		tcp.CloseWrite()
	}()
	if _, err := io.Copy(data, tcp); err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(errs, "error forwarding port %d to pod %s: %v", port, f.pod, err)
	}
	// The pod is done: so is the client's connection.
	closeData()
	tcp.Close()
	in.Wait()
}

// serveSPDY serves port forwarding over SPDY: the client opens an error
// and a data stream per connection, tied by the requestID header.
func (f *forwarder) serveSPDY(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpstream.Handshake(r, w, []string{portForwardProtocol}); err != nil {
		return err
	}
	if !strings.EqualFold(r.Header.Get(httpstream.HeaderUpgrade), "SPDY/3.1") {
		writeError(w, badRequest("Upgrade request required"))
		return errors.New("not an upgrade request")
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	streams := make(chan httpstream.Stream)
	conn, err := upgradeSPDY(w, portForwardProtocol, func(st httpstream.Stream, replySent <-chan struct{}) error {
		if _, err := parsePort(st.Headers().Get(corev1.PortHeader)); err != nil {
			return err
		}
		switch t := st.Headers().Get(corev1.StreamType); t {
		case corev1.StreamTypeError, corev1.StreamTypeData:
		default:
			return fmt.Errorf("invalid stream type %q", t)
		}
		select {
		case streams <- st:
			return nil
		case <-ctx.Done():
			return errors.New("port forwarding is shutting down")
		}
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	stopOnCancel := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopOnCancel()

	type pair struct{ data, errs httpstream.Stream }
	pairs := map[string]*pair{}
	var relays sync.WaitGroup
	defer relays.Wait()
	defer cancel()
	for {
		select {
		case <-conn.CloseChan():
			return nil
		case <-ctx.Done():
			return nil
		case st := <-streams:
			id := requestID(st)
			p := pairs[id]
			if p == nil {
				p = &pair{}
				pairs[id] = p
			}
			if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
				if p.data != nil {
					st.Reset()
					continue
				}
				p.data = st
			} else {
				if p.errs != nil {
					st.Reset()
					continue
				}
				p.errs = st
			}
			if p.data == nil || p.errs == nil {
				continue
			}
			delete(pairs, id)
			port, _ := parsePort(p.data.Headers().Get(corev1.PortHeader))
			relays.Add(1)
			go func() {
				defer relays.Done()
				// On shutdown, unblock a relay waiting for the client.
				stopReset := context.AfterFunc(ctx, func() {
					p.data.Reset()
					p.errs.Reset()
				})
				defer stopReset()
				f.forward(ctx, port, p.data, func() { p.data.Close() }, p.errs)
				p.errs.Close()
				conn.RemoveStreams(p.data, p.errs)
			}()
		}
	}
}

// requestID ties a data stream to its error stream. Clients too old to send
// the header create the error stream right before the data stream, with
// stream IDs two apart.
func requestID(st httpstream.Stream) string {
	if id := st.Headers().Get(corev1.PortForwardRequestIDHeader); id != "" {
		return id
	}
	n := st.Identifier()
	if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
		n -= 2
	}
	return "legacy-" + strconv.FormatUint(uint64(n), 10)
}

// upgradeSPDY answers 101 on the hijacked connection itself, so that it also
// works under proxy.TunnelingHandler, whose writer refuses WriteHeader(101).
func upgradeSPDY(w http.ResponseWriter, protocol string, onStream httpstream.NewStreamHandler) (httpstream.Connection, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, errors.New("unable to upgrade: unable to hijack response"))
		return nil, errors.New("response cannot be hijacked")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("hijacking the connection: %w", err)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Connection: Upgrade\r\n" +
		"Upgrade: SPDY/3.1\r\n" +
		httpstream.HeaderProtocolVersion + ": " + protocol + "\r\n\r\n"
	if _, err := io.WriteString(c, resp); err != nil {
		c.Close()
		return nil, fmt.Errorf("writing the upgrade response: %w", err)
	}
	var nc net.Conn = c
	if rw != nil && rw.Reader.Buffered() > 0 {
		nc = &bufferedConn{Conn: c, r: rw.Reader}
	}
	conn, err := spdy.NewServerConnection(nc, onStream)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("starting the SPDY connection: %w", err)
	}
	return conn, nil
}

// bufferedConn reads what the HTTP server had already buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// WebSocket port-forward channels: a data and an error channel per port.
const (
	pfData = iota
	pfError
)

// serveWebSocket serves port forwarding over WebSocket channels: one
// connection per requested port for the life of the WebSocket.
func (f *forwarder) serveWebSocket(w http.ResponseWriter, r *http.Request, ports []uint16) error {
	channels := make([]wsstream.ChannelType, 0, 2*len(ports))
	for range ports {
		channels = append(channels, wsstream.ReadWriteChannel, wsstream.WriteChannel)
	}
	binaryProto := wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
	base64Proto := wsstream.ChannelProtocolConfig{Binary: false, Channels: channels}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                         binaryProto,
		"v4.channel.k8s.io":        binaryProto,
		"v4.base64.channel.k8s.io": base64Proto,
		portForwardProtocol:        binaryProto,
	})
	_, chans, err := conn.Open(w, r)
	if err != nil {
		return fmt.Errorf("websocket upgrade: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var relays sync.WaitGroup
	for i, port := range ports {
		data, errs := chans[2*i+pfData], chans[2*i+pfError]
		// Each channel starts with the port it serves, little-endian.
		b := binary.LittleEndian.AppendUint16(nil, port)
		if _, err := data.Write(b); err != nil {
			return fmt.Errorf("websocket port-forward: %w", err)
		}
		if _, err := errs.Write(b); err != nil {
			return fmt.Errorf("websocket port-forward: %w", err)
		}
		relays.Add(1)
		go func() {
			defer relays.Done()
			// A channel cannot be half-closed: the relay ends with the
			// pod side, and closing the channel ends the client side.
			f.forward(ctx, port, data, func() { data.Close() }, errs)
		}()
	}
	relays.Wait()
	return nil
}
