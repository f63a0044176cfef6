package inproc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
)

// bufSize is how much of a response body the writer holds before it sends
// the headers and streams the rest through a pipe. Most API responses fit:
// they reach the client whole when the handler returns, without the pipe.
const bufSize = 64 << 10

// ErrUpgrade refuses a request to switch protocols.
var ErrUpgrade = errors.New("inproc: upgrade requests (exec, attach, port-forward) need a network connection: use a client config with the API server's URL")

var (
	errFinished   = errors.New("inproc: write after the handler returned")
	errBodyClosed = errors.New("inproc: read on closed response body")
	errPanic      = errors.New("inproc: the handler panicked")
)

// The handler's view of the connection: loopback at both ends.
var (
	remoteAddr = "127.0.0.1:0"
	localAddr  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
)

// Transport hands requests to Handler in this process. It is safe for
// concurrent use.
type Transport struct {
	Handler http.Handler
	// ClientCertificates, when set, returns the certificate chain (leaf
	// first) the client authenticates with; the handler finds it in
	// req.TLS.PeerCertificates, as after a TLS handshake, and verifies it
	// as it would then.
	ClientCertificates func() ([]*x509.Certificate, error)
	// Logger logs the handler's panics (default slog.Default()).
	Logger *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req.Body)
		return nil, errors.New("inproc: request without URL")
	}
	if req.Header.Get("Upgrade") != "" {
		closeBody(req.Body)
		return nil, ErrUpgrade
	}
	state := &tls.ConnectionState{
		Version: tls.VersionTLS13, HandshakeComplete: true, NegotiatedProtocol: "h2",
		ServerName: req.URL.Hostname(),
	}
	if t.ClientCertificates != nil {
		certs, err := t.ClientCertificates()
		if err != nil {
			closeBody(req.Body)
			return nil, fmt.Errorf("inproc: client certificate: %w", err)
		}
		state.PeerCertificates = certs
	}
	uri := req.URL.RequestURI()
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		closeBody(req.Body)
		return nil, fmt.Errorf("inproc: %w", err)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	header := req.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	body := req.Body
	length := req.ContentLength
	switch {
	case body == nil || body == http.NoBody:
		body, length = http.NoBody, 0
	case length == 0:
		length = -1 // a body of unknown length
	}
	if length > 0 {
		header.Set("Content-Length", strconv.FormatInt(length, 10))
	}

	clientCtx := req.Context()
	ctx, cancel := context.WithCancel(context.WithValue(clientCtx, http.LocalAddrContextKey, localAddr))
	sreq := (&http.Request{
		Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: header, Body: &onceCloser{ReadCloser: body}, ContentLength: length,
		Host: host, RemoteAddr: remoteAddr, RequestURI: uri, TLS: state,
	}).WithContext(ctx)
	pr, pw := io.Pipe()
	rw := &responseWriter{
		req: sreq, clientReq: req, ctx: ctx, cancel: cancel,
		header: http.Header{}, ready: make(chan struct{}), pr: pr, pw: pw,
	}
	// The client's cancel or Close ends the body with an error and
	// unblocks a handler writing to it; after the handler's end of the
	// body (the pipe keeps the first close) it changes nothing.
	context.AfterFunc(ctx, func() {
		err := clientCtx.Err()
		if err == nil {
			err = errBodyClosed
		}
		pw.CloseWithError(err)
	})
	go t.serve(rw)

	select {
	case <-rw.ready:
		if rw.err != nil {
			return nil, rw.err
		}
		// A handler that answered because the client cancelled.
		if err := clientCtx.Err(); err != nil {
			rw.resp.Body.Close()
			return nil, err
		}
		return rw.resp, nil
	case <-clientCtx.Done():
		cancel()
		return nil, clientCtx.Err()
	}
}

// serve runs the handler as net/http does: a panic fails this request only,
// the request's context ends and its body is closed when the handler
// returns.
func (t *Transport) serve(rw *responseWriter) {
	var panicked any
	defer func() {
		rw.finish(panicked)
		rw.cancel() // after the body's end, which wins over the cancel's
		closeBody(rw.req.Body)
	}()
	defer func() {
		panicked = recover()
		if panicked != nil && panicked != http.ErrAbortHandler { //nolint:errorlint // net/http compares it so
			log := t.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Error("inproc: panic serving request", "method", rw.req.Method, "uri", rw.req.RequestURI,
				"panic", fmt.Sprint(panicked), "stack", string(debug.Stack()))
		}
	}()
	t.Handler.ServeHTTP(rw, rw.req)
}

// responseWriter buffers the body until the handler flushes, fills the
// buffer or returns; then the client gets the response.
type responseWriter struct {
	req       *http.Request // the handler's
	clientReq *http.Request
	ctx       context.Context
	cancel    context.CancelFunc
	header    http.Header

	// ready is closed once resp or err is set.
	ready chan struct{}
	resp  *http.Response
	err   error

	mu     sync.Mutex
	status int         // 0 until the headers are written
	sent   http.Header // the headers as written
	buf    []byte
	// streaming is set once the client has the response with the pipe
	// for its body; the client's cancel or Close closes pw at any time.
	streaming bool
	pr        *io.PipeReader
	pw        *io.PipeWriter
	finished  bool
	notify    chan bool
}

var (
	_ http.Flusher       = (*responseWriter)(nil)
	_ http.CloseNotifier = (*responseWriter)(nil) //nolint:staticcheck // the API server's writer wrappers need it
)

func (rw *responseWriter) Header() http.Header { return rw.header }

func (rw *responseWriter) WriteHeader(code int) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.writeHeader(code)
}

func (rw *responseWriter) writeHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	// Informational answers are not passed on; a second call is ignored.
	if rw.finished || rw.status != 0 || code < 200 {
		return
	}
	rw.status = code
	rw.sent = rw.header.Clone()
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.finished {
		return 0, errFinished
	}
	if rw.status == 0 {
		rw.writeHeader(http.StatusOK)
	}
	if !bodyAllowed(rw.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if rw.req.Method == http.MethodHead {
		return len(p), nil
	}
	if !rw.streaming && len(rw.buf)+len(p) <= bufSize {
		rw.buf = append(rw.buf, p...)
		return len(p), nil
	}
	if !rw.streaming {
		rw.send()
	}
	if err := rw.drain(); err != nil {
		return 0, err
	}
	return rw.pw.Write(p)
}

func (rw *responseWriter) Flush() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.finished {
		return
	}
	if rw.status == 0 {
		rw.writeHeader(http.StatusOK)
	}
	if !rw.streaming {
		rw.send()
	}
	_ = rw.drain()
}

// CloseNotify is for the writer wrappers that pass http.CloseNotifier
// on; it reports when the request's context ends.
func (rw *responseWriter) CloseNotify() <-chan bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.notify == nil {
		rw.notify = make(chan bool, 1)
		context.AfterFunc(rw.ctx, func() { rw.notify <- true })
	}
	return rw.notify
}

// send gives the client the response with a pipe for its body.
func (rw *responseWriter) send() {
	rw.streaming = true
	rw.respond(&pipeBody{pr: rw.pr, pw: rw.pw, cancel: rw.cancel}, -1)
}

// drain writes the buffered body to the pipe.
func (rw *responseWriter) drain() error {
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := rw.pw.Write(rw.buf)
	rw.buf = rw.buf[:0]
	return err
}

func (rw *responseWriter) respond(body io.ReadCloser, length int64) {
	h := rw.sent
	if _, ok := h["Content-Type"]; !ok && len(rw.buf) > 0 {
		h.Set("Content-Type", http.DetectContentType(rw.buf))
	}
	if length < 0 {
		if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
			length = n
		}
	}
	rw.resp = &http.Response{
		Status:     strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode: rw.status, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: h, Body: body, ContentLength: length, Request: rw.clientReq,
	}
	close(rw.ready)
}

// finish ends the response once the handler returned (or panicked).
func (rw *responseWriter) finish(panicked any) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.finished = true
	switch {
	case rw.streaming && panicked != nil:
		rw.pw.CloseWithError(errPanic)
	case rw.streaming:
		// A handler that returned because the client cancelled: the
		// client reads the cancel's error, not the end of the body.
		if err := rw.clientReq.Context().Err(); err != nil {
			rw.pw.CloseWithError(err)
		} else if err := rw.drain(); err == nil {
			rw.pw.Close()
		}
	case panicked != nil:
		rw.err = errPanic
		close(rw.ready)
	default:
		if rw.status == 0 {
			rw.status, rw.sent = http.StatusOK, rw.header.Clone()
		}
		var body io.ReadCloser = http.NoBody
		if len(rw.buf) > 0 {
			body = io.NopCloser(bytes.NewReader(rw.buf))
		}
		// The handler's context ends with it, before the client has
		// the response.
		rw.cancel()
		rw.respond(body, int64(len(rw.buf)))
	}
}

type pipeBody struct {
	pr     *io.PipeReader
	pw     *io.PipeWriter
	cancel context.CancelFunc
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

// Close ends the body (unless the handler did) and the handler's context.
func (b *pipeBody) Close() error {
	b.pw.CloseWithError(errBodyClosed)
	b.cancel()
	return nil
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

type onceCloser struct {
	io.ReadCloser
	once sync.Once
	err  error
}

func (c *onceCloser) Close() error {
	c.once.Do(func() { c.err = c.ReadCloser.Close() })
	return c.err
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		_ = b.Close()
	}
}
