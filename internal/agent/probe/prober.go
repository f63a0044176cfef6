package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"petset/internal/agent/runtime"
	"petset/internal/podport"
)

// Target is what a probe is run against.
type Target struct {
	// Host is the default host of HTTP and TCP probes: the pod IP, or
	// 127.0.0.1 for host-network pods.
	Host string
	// ContainerID is the container exec probes run in.
	ContainerID string
	// Container is the container's name, for Failure reports.
	Container string
	// Ports are the container's ports, for probes naming a port.
	Ports []corev1.ContainerPort
}

// Runner runs one probe and reports whether it succeeded, with output or
// the reason of the failure.
type Runner interface {
	Run(ctx context.Context, p *corev1.Probe, t Target) (bool, string)
}

// ByContainer is a Runner that answers every probe of a container with one
// function of the container's ID, whatever the probe's handler: how a
// simulated runtime's probes (runtime/fake's Runtime.Probe) are run.
type ByContainer func(ctx context.Context, containerID string) (bool, string)

// Run implements Runner.
func (f ByContainer) Run(ctx context.Context, _ *corev1.Probe, t Target) (bool, string) {
	return f(ctx, t.ContainerID)
}

// Execer runs a command in a container; runtime.Runtime satisfies it.
type Execer interface {
	Exec(ctx context.Context, containerID string, argv []string, s runtime.Streams) (int, error)
}

// Prober is the Runner that really probes.
type Prober struct {
	exec Execer
}

// NewProber returns a Prober running exec probes through exec.
func NewProber(exec Execer) *Prober { return &Prober{exec: exec} }

const maxOutput = 10 * 1024

func timeoutOf(p *corev1.Probe) time.Duration {
	if p.TimeoutSeconds > 0 {
		return time.Duration(p.TimeoutSeconds) * time.Second
	}
	return time.Second
}

// Run runs p once.
func (pr *Prober) Run(ctx context.Context, p *corev1.Probe, t Target) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(p))
	defer cancel()
	switch {
	case p.Exec != nil:
		return pr.runExec(ctx, p.Exec, t)
	case p.HTTPGet != nil:
		return runHTTP(ctx, p.HTTPGet, t, timeoutOf(p))
	case p.TCPSocket != nil:
		return runTCP(ctx, p.TCPSocket, t)
	case p.GRPC != nil:
		return false, "gRPC probes are not supported by petset"
	}
	return false, "probe has no handler"
}

func (pr *Prober) runExec(ctx context.Context, e *corev1.ExecAction, t Target) (bool, string) {
	if pr.exec == nil {
		return false, "exec probes need a runtime"
	}
	var out limitedBuffer
	code, err := pr.exec.Exec(ctx, t.ContainerID, e.Command, runtime.Streams{Stdout: &out, Stderr: &out})
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Sprintf("command %q timed out", strings.Join(e.Command, " "))
		}
		return false, err.Error()
	}
	if code != 0 {
		return false, fmt.Sprintf("command %q exited with %d: %s", strings.Join(e.Command, " "), code, out.String())
	}
	return true, out.String()
}

func runHTTP(ctx context.Context, h *corev1.HTTPGetAction, t Target, timeout time.Duration) (bool, string) {
	port, err := podport.ForContainer(h.Port, t.Ports)
	if err != nil {
		return false, err.Error()
	}
	host := h.Host
	if host == "" {
		host = t.Host
	}
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := h.Path
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), path))
	if err != nil {
		return false, fmt.Sprintf("bad probe URL: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, fmt.Sprintf("bad probe request: %v", err)
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.HTTPHeaders {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelet does not verify probe certificates
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if r.URL.Hostname() != u.Hostname() {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", u.String(), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, string(body)
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

func runTCP(ctx context.Context, s *corev1.TCPSocketAction, t Target) (bool, string) {
	port, err := podport.ForContainer(s.Port, t.Ports)
	if err != nil {
		return false, err.Error()
	}
	host := s.Host
	if host == "" {
		host = t.Host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false, fmt.Sprintf("dial tcp %s: %v", net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	_ = conn.Close()
	return true, ""
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxOutput - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
