package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/util/remotecommand"

	"petset/internal/agent/runtime"
	"petset/internal/logging"
)

// streamCreationTimeout bounds how long a SPDY client may take to open the
// streams it announced.
const streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout

// spdyProtocols are the remote-command SPDY subprotocols, preferred first.
var spdyProtocols = []string{
	remotecommand.StreamProtocolV5Name,
	remotecommand.StreamProtocolV4Name,
	remotecommand.StreamProtocolV3Name,
	remotecommand.StreamProtocolV2Name,
	remotecommand.StreamProtocolV1Name,
}

// streamOptions are the stdio a remote command connects.
type streamOptions struct {
	stdin, stdout, stderr, tty bool
}

func parseStreamOptions(r *http.Request) (streamOptions, error) {
	q := r.URL.Query()
	// The API server sends PodExecOptions' names (stdin, stdout, stderr,
	// tty); kubelet's own streaming URLs use input, output and error.
	o := streamOptions{
		stdin:  boolParam(q, "stdin") || boolParam(q, corev1.ExecStdinParam),
		stdout: boolParam(q, "stdout") || boolParam(q, corev1.ExecStdoutParam),
		stderr: boolParam(q, "stderr") || boolParam(q, corev1.ExecStderrParam),
		tty:    boolParam(q, corev1.ExecTTYParam),
	}
	if o.tty && o.stderr {
		// A terminal merges stderr into stdout.
		o.stderr = false
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return o, badRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// session is one upgraded remote-command connection.
type session struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool
	// resize carries terminal sizes; nil without a terminal.
	resize <-chan runtime.TermSize
	// gone is closed when the client has gone away.
	gone <-chan struct{}
	// writeStatus reports the outcome on the error channel.
	writeStatus func(st *metav1.Status) error
	// close ends the connection and waits for the session's goroutines.
	close func()
}

// serveExec answers /exec/{ns}/{pod}/{container}.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	argv := r.URL.Query()[corev1.ExecCommandParam]
	if len(argv) == 0 {
		writeError(w, badRequest("you must specify at least 1 command"))
		return
	}
	s.serveRemoteCommand(w, r, "exec", func(ctx context.Context, id string, st runtime.Streams) *metav1.Status {
		code, err := s.cfg.Runtime.Exec(ctx, id, argv, st)
		switch {
		case err != nil && code > 0:
			// The runtime ran nothing, but has a shell's answer for it
			// (126: cannot execute, 127: not found): tell the user why and
			// end with that code.
			out := st.Stderr
			if out == nil {
				out = st.Stdout
			}
			if out != nil {
				fmt.Fprintf(out, "%v\n", err)
			}
			return exitStatus(code)
		case err != nil:
			return failure(fmt.Sprintf("error executing command in container: %v", err))
		case code != 0:
			return exitStatus(code)
		}
		return &metav1.Status{Status: metav1.StatusSuccess}
	})
}

// serveAttach answers /attach/{ns}/{pod}/{container}.
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	s.serveRemoteCommand(w, r, "attach", func(ctx context.Context, id string, st runtime.Streams) *metav1.Status {
		if err := s.cfg.Runtime.Attach(ctx, id, st); err != nil {
			return failure(fmt.Sprintf("error attaching to container: %v", err))
		}
		return &metav1.Status{Status: metav1.StatusSuccess}
	})
}

func exitStatus(code int) *metav1.Status {
	return &metav1.Status{
		Status:  metav1.StatusFailure,
		Reason:  remotecommand.NonZeroExitCodeReason,
		Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
			Type:    remotecommand.ExitCodeCauseType,
			Message: strconv.Itoa(code),
		}}},
	}
}

func failure(msg string) *metav1.Status {
	return &metav1.Status{
		Status:  metav1.StatusFailure,
		Reason:  metav1.StatusReasonInternalError,
		Code:    http.StatusInternalServerError,
		Message: msg,
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: msg}}},
	}
}

// serveRemoteCommand resolves the container, upgrades the connection and
// runs fn with the client's stdio, then reports fn's status. what names
// the request (exec, attach) in errors.
func (s *Server) serveRemoteCommand(w http.ResponseWriter, r *http.Request, what string, fn func(ctx context.Context, id string, st runtime.Streams) *metav1.Status) {
	opts, err := parseStreamOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id, err := s.findContainer(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.refuseSimulated(r, what); err != nil {
		writeError(w, err)
		return
	}
	var sess *session
	if wsstream.IsWebSocketRequest(r) {
		sess, err = openWebSocketSession(w, r, opts)
	} else {
		sess, err = openSPDYSession(w, r, opts)
	}
	log := logging.FromContext(r.Context()).With("component", "stream").With("namespace", r.PathValue("ns"), "pod", r.PathValue("pod"), "container", r.PathValue("container"))
	if err != nil {
		// The upgrade answered the client already.
		log.Info("remote command upgrade failed", logging.ErrKey, err)
		return
	}
	defer sess.close()

	ctx, cancel := context.WithCancel(r.Context())
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		select {
		case <-sess.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer watch.Wait()
	defer cancel()
	st := fn(ctx, id, runtime.Streams{
		Stdin:  sess.stdin,
		Stdout: sess.stdout,
		Stderr: sess.stderr,
		TTY:    sess.tty,
		Resize: sess.resize,
	})
	if r.Context().Err() != nil {
		// Run is ending: the runtime stopped the command because of that.
		st = failure("the session was ended: the node agent is shutting down")
	}
	if err := sess.writeStatus(st); err != nil && ctx.Err() == nil {
		log.Info("writing remote command status", logging.ErrKey, err)
	}
}

// statusWriter returns how a protocol version reports the outcome: v4 and
// later send the Status as JSON, older versions send only the message of a
// failure.
func statusWriter(protocol string, w io.Writer) func(st *metav1.Status) error {
	switch protocol {
	case remotecommand.StreamProtocolV4Name, remotecommand.StreamProtocolV5Name, "v4.base64.channel.k8s.io":
		return func(st *metav1.Status) error {
			b, err := json.Marshal(st)
			if err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		}
	}
	return func(st *metav1.Status) error {
		if st.Status == metav1.StatusSuccess {
			return nil
		}
		_, err := io.WriteString(w, st.Message)
		return err
	}
}

// Remote-command WebSocket channels.
const (
	chanStdin = iota
	chanStdout
	chanStderr
	chanError
	chanResize
)

func openWebSocketSession(w http.ResponseWriter, r *http.Request, opts streamOptions) (*session, error) {
	channels := make([]wsstream.ChannelType, 5)
	channels[chanStdin] = readIf(opts.stdin)
	channels[chanStdout] = writeIf(opts.stdout)
	channels[chanStderr] = writeIf(opts.stderr)
	channels[chanError] = wsstream.WriteChannel
	channels[chanResize] = wsstream.ReadChannel
	binary := wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
	base64 := wsstream.ChannelProtocolConfig{Binary: false, Channels: channels}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                                      binary,
		remotecommand.StreamProtocolV5Name:      binary,
		remotecommand.StreamProtocolV4Name:      binary,
		"v4.base64.channel.k8s.io":              base64,
		remotecommand.StreamProtocolV3Name:      binary,
		remotecommand.StreamProtocolV2Name:      binary,
		wsstream.ChannelWebSocketProtocol:       binary,
		wsstream.Base64ChannelWebSocketProtocol: base64,
	})
	protocol, streams, err := conn.Open(w, r)
	if err != nil {
		return nil, fmt.Errorf("websocket upgrade: %w", err)
	}
	sess := &session{tty: opts.tty, writeStatus: statusWriter(protocol, streams[chanError])}
	if opts.stdin {
		sess.stdin = streams[chanStdin]
	}
	if opts.stdout {
		sess.stdout = streams[chanStdout]
	}
	if opts.stderr {
		sess.stderr = streams[chanStderr]
	}
	// The resize channel ends only with the connection: it also tells
	// when the client is gone.
	gone := make(chan struct{})
	sess.gone = gone
	stopResize := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	if opts.tty {
		resize := make(chan runtime.TermSize, 1)
		sess.resize = resize
		go func() {
			defer wg.Done()
			defer close(gone)
			decodeResizes(streams[chanResize], resize, stopResize)
		}()
	} else {
		go func() {
			defer wg.Done()
			defer close(gone)
			io.Copy(io.Discard, streams[chanResize])
		}()
	}
	sess.close = func() {
		close(stopResize)
		conn.Close()
		wg.Wait()
	}
	return sess, nil
}

func readIf(b bool) wsstream.ChannelType {
	if b {
		return wsstream.ReadChannel
	}
	return wsstream.IgnoreChannel
}

func writeIf(b bool) wsstream.ChannelType {
	if b {
		return wsstream.WriteChannel
	}
	return wsstream.IgnoreChannel
}

// decodeResizes reads JSON terminal sizes from r until it ends, passing
// them on to out; once stop is closed, sizes are dropped.
func decodeResizes(r io.Reader, out chan<- runtime.TermSize, stop <-chan struct{}) {
	dec := json.NewDecoder(r)
	for {
		var size runtime.TermSize
		if err := dec.Decode(&size); err != nil {
			// Drain what may still come, so the connection is never
			// blocked on this channel.
			io.Copy(io.Discard, r)
			return
		}
		select {
		case out <- size:
		case <-stop:
		}
	}
}

type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

func openSPDYSession(w http.ResponseWriter, r *http.Request, opts streamOptions) (*session, error) {
	protocol := remotecommand.StreamProtocolV1Name
	if _, ok := r.Header[http.CanonicalHeaderKey(httpstream.HeaderProtocolVersion)]; ok {
		p, err := httpstream.Handshake(r, w, spdyProtocols)
		if err != nil {
			return nil, err
		}
		protocol = p
	}
	if !strings.EqualFold(r.Header.Get(httpstream.HeaderUpgrade), "SPDY/3.1") {
		writeError(w, badRequest("Upgrade request required"))
		return nil, errors.New("not an upgrade request")
	}
	expected := 1 // the error stream
	for _, b := range []bool{opts.stdin, opts.stdout, opts.stderr} {
		if b {
			expected++
		}
	}
	resizable := opts.tty && protocol != remotecommand.StreamProtocolV1Name && protocol != remotecommand.StreamProtocolV2Name
	if resizable {
		expected++
	}

	streamCh := make(chan streamAndReply, expected)
	var mu sync.Mutex
	accepting := true
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		mu.Lock()
		defer mu.Unlock()
		if !accepting || len(streamCh) == cap(streamCh) {
			return fmt.Errorf("unexpected stream %q", st.Headers().Get(corev1.StreamType))
		}
		streamCh <- streamAndReply{Stream: st, replySent: replySent}
		return nil
	})
	if conn == nil {
		return nil, errors.New("SPDY upgrade failed")
	}
	fail := func(err error) (*session, error) {
		conn.Close()
		return nil, err
	}

	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	byType := map[string]streamAndReply{}
	for len(byType) < expected {
		select {
		case st := <-streamCh:
			t := st.Headers().Get(corev1.StreamType)
			switch t {
			case corev1.StreamTypeError, corev1.StreamTypeStdin, corev1.StreamTypeStdout, corev1.StreamTypeStderr, corev1.StreamTypeResize:
			default:
				return fail(fmt.Errorf("unexpected stream type %q", t))
			}
			if _, dup := byType[t]; dup {
				return fail(fmt.Errorf("duplicate stream of type %q", t))
			}
			byType[t] = st
		case <-timeout.C:
			return fail(errors.New("timed out waiting for the client to create streams"))
		case <-conn.CloseChan():
			return fail(errors.New("the client closed the connection while creating streams"))
		case <-r.Context().Done():
			return fail(errors.New("the node agent is shutting down"))
		}
	}
	mu.Lock()
	accepting = false
	mu.Unlock()
	for _, st := range byType {
		select {
		case <-st.replySent:
		case <-timeout.C:
			return fail(errors.New("timed out replying to the client's streams"))
		case <-r.Context().Done():
			return fail(errors.New("the node agent is shutting down"))
		}
	}
	errStream, ok := byType[corev1.StreamTypeError]
	if !ok {
		return fail(errors.New("the client opened no error stream"))
	}

	sess := &session{tty: opts.tty, writeStatus: statusWriter(protocol, errStream)}
	if st, ok := byType[corev1.StreamTypeStdin]; ok {
		sess.stdin = st
	}
	if st, ok := byType[corev1.StreamTypeStdout]; ok {
		sess.stdout = st
	}
	if st, ok := byType[corev1.StreamTypeStderr]; ok {
		sess.stderr = st
	}
	gone := make(chan struct{})
	sess.gone = gone
	stopResize := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-conn.CloseChan():
			close(gone)
		case <-stopResize:
		}
	}()
	if st, ok := byType[corev1.StreamTypeResize]; ok {
		resize := make(chan runtime.TermSize, 1)
		sess.resize = resize
		wg.Add(1)
		go func() {
			defer wg.Done()
			decodeResizes(st, resize, stopResize)
		}()
	}
	sess.close = func() {
		close(stopResize)
		for _, st := range byType {
			st.Close()
		}
		conn.Close()
		wg.Wait()
	}
	return sess, nil
}
