package stream

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// podServer is the "pod": an HTTP server on 127.0.0.1, which a
// host-network pod's port-forward reaches.
func podServer(t *testing.T) (*httptest.Server, int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "hello from the pod: %s %s %s", r.Method, r.URL.Path, body)
	}))
	t.Cleanup(srv.Close)
	return srv, srv.Listener.Addr().(*net.TCPAddr).Port
}

// closedPort is a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func forwardURL(cfg *rest.Config, ns, pod string, ports ...int) *url.URL {
	u, _ := url.Parse(cfg.Host + "/portForward/" + ns + "/" + pod)
	q := url.Values{}
	for _, p := range ports {
		q.Add("port", strconv.Itoa(p))
	}
	u.RawQuery = q.Encode()
	return u
}

// forwardWith runs client-go's port forwarder over dialer and returns the
// local port for remotePort.
func forwardWith(t *testing.T, dialer httpstream.Dialer, remotePort int) int {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	var errOut bytes.Buffer
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(remotePort)}, stop, ready, io.Discard, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port forwarding ended: %v (%s)", err, errOut.String())
	}
	ports, err := pf.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return int(ports[0].Local)
}

func TestPortForwardClientGo(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	addPod(t, rt, pods, "default", "web-0", "nginx")
	_, cfg := startServer(t, rt, pods)
	_, podPort := podServer(t)

	dialers := map[string]func(t *testing.T, u *url.URL) httpstream.Dialer{
		"spdy": func(t *testing.T, u *url.URL) httpstream.Dialer {
			tr, up, err := spdy.RoundTripperFor(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return spdy.NewDialer(up, &http.Client{Transport: tr}, "POST", u)
		},
		// What kubectl 1.31+ tries first: SPDY tunnelled in a WebSocket.
		"spdy-over-websocket": func(t *testing.T, u *url.URL) httpstream.Dialer {
			d, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	}
	for name, newDialer := range dialers {
		t.Run(name, func(t *testing.T) {
			local := forwardWith(t, newDialer(t, forwardURL(cfg, "default", "web-0", podPort)), podPort)
			// Several connections over the one forwarding session, one of
			// them with a request body.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			for i := range 3 {
				resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d/path/%d", local, i), "text/plain", strings.NewReader("body"))
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf("hello from the pod: POST /path/%d body", i); err != nil || string(b) != want {
					t.Fatalf("request %d: %q, %v; want %q", i, b, err, want)
				}
			}
		})
	}

	t.Run("nothing listening", func(t *testing.T) {
		port := closedPort(t)
		local := forwardWith(t, dialers["spdy"](t, forwardURL(cfg, "default", "web-0", port)), port)
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(fmt.Sprintf("http://127.0.0.1:%d/", local))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("request through a port nothing listens on succeeded: %s", resp.Status)
		}
	})

	t.Run("unknown pod", func(t *testing.T) {
		conn, _, err := dialers["spdy"](t, forwardURL(cfg, "default", "web-9", podPort)).Dial("portforward.k8s.io")
		if err == nil {
			conn.Close()
			t.Fatal("dial succeeded")
		}
		if !strings.Contains(err.Error(), "pod default/web-9 not found on this node") {
			t.Fatalf("err %v", err)
		}
	})
}

// wsDial opens a WebSocket port-forward with the v4 channel protocol.
func wsDial(t *testing.T, cfg *rest.Config, cn string, ports ...int) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u := forwardURL(cfg, "default", "web-0", ports...)
	u.Scheme = "wss"
	d := websocket.Dialer{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{clusterCA.tlsCert(t, cn)}},
		Subprotocols:    []string{"v4.channel.k8s.io"},
	}
	return d.DialContext(testContext(t), u.String(), nil)
}

// TestPortForwardWebSocketChannels drives the v4 channel protocol by hand:
// two channels per port, each starting with the port number.
func TestPortForwardWebSocketChannels(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	addPod(t, rt, pods, "default", "web-0", "nginx")
	_, cfg := startServer(t, rt, pods)
	_, podPort := podServer(t)
	deadPort := closedPort(t)

	if _, resp, err := wsDial(t, cfg, "system:node:other", podPort); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a client that is not the API server: %v %v", resp, err)
	}

	conn, _, err := wsDial(t, cfg, apiServerClient, podPort, deadPort)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.Subprotocol() != "v4.channel.k8s.io" {
		t.Fatalf("subprotocol %q", conn.Subprotocol())
	}
	req := "GET /ws HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n"
	if err := conn.WriteMessage(websocket.BinaryMessage, append([]byte{0}, req...)); err != nil {
		t.Fatal(err)
	}
	data := map[byte][]byte{}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			// The server closes the WebSocket once every port is done.
			break
		}
		if len(msg) == 0 {
			continue
		}
		data[msg[0]] = append(data[msg[0]], msg[1:]...)
	}
	port := func(b []byte) int {
		if len(b) < 2 {
			return -1
		}
		return int(binary.LittleEndian.Uint16(b))
	}
	for ch, want := range map[byte]int{0: podPort, 1: podPort, 2: deadPort, 3: deadPort} {
		if got := port(data[ch]); got != want {
			t.Errorf("channel %d starts with port %d, want %d", ch, got, want)
		}
	}
	if resp := string(data[0][2:]); !strings.HasPrefix(resp, "HTTP/1.1 200 OK") || !strings.HasSuffix(resp, "hello from the pod: GET /ws ") {
		t.Errorf("data channel: %q", resp)
	}
	if errs := string(data[1][2:]); errs != "" {
		t.Errorf("error channel of the open port: %q", errs)
	}
	if errs := string(data[3][2:]); !strings.Contains(errs, fmt.Sprintf("error forwarding port %d to pod default/web-0", deadPort)) {
		t.Errorf("error channel of the closed port: %q", errs)
	}
}
