package stream

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
)

type errorResponder struct{}

func (errorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	http.Error(w, err.Error(), http.StatusBadGateway)
}

// TestThroughAPIServerProxy puts the hop petset's API server makes in
// front of the agent (registry/connect.go): an UpgradeAwareHandler that
// drops the caller's credentials, authenticates with the API server's
// client certificate and forwards the request verbatim, upgrades included.
func TestThroughAPIServerProxy(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	addPod(t, rt, pods, "default", "web-0", "nginx")
	id := pods.ids["default/web-0/nginx"][0]
	rt.appendLog(id, t0(), "a log line")
	_, agentCfg := startServer(t, rt, pods)
	agentURL, _ := url.Parse(agentCfg.Host)
	ca, _ := cas(t)
	transport := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{ca.tlsCert(t, apiServerClient)}}}

	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loc := *agentURL
		loc.Path = r.URL.Path
		loc.RawQuery = r.URL.RawQuery
		h := proxy.NewUpgradeAwareHandler(&loc, transport, false, !strings.HasPrefix(r.URL.Path, "/containerLogs/"), errorResponder{})
		r.Header.Del("Authorization")
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	cfg := &rest.Config{Host: front.URL, BearerToken: "the-users-own-token"}

	t.Run("logs", func(t *testing.T) {
		resp, err := http.Get(front.URL + "/containerLogs/default/web-0/nginx?timestamps=true")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "2026-01-02T03:04:05Z a log line\n" {
			t.Fatalf("%s %q", resp.Status, b)
		}
	})
	t.Run("logs follow", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(testContext(t), "GET", front.URL+"/containerLogs/default/web-0/nginx?follow=true", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		if l, err := r.ReadString('\n'); err != nil || l != "a log line\n" {
			t.Fatalf("%q %v", l, err)
		}
		rt.appendLog(id, t0(), "arrives later")
		if l, err := r.ReadString('\n'); err != nil || l != "arrives later\n" {
			t.Fatalf("%q %v", l, err)
		}
		rt.closeLog(id)
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
			t.Fatalf("after the end: %q %v", rest, err)
		}
	})
	for _, ek := range []executorKind{executors[0], executors[2]} {
		t.Run("exec "+ek.name, func(t *testing.T) {
			r := run(t, ek, cfg, execURL(cfg, "exec", "default", "web-0", "nginx", []string{"sh", "-c", "cat; exit 7"}, true, true, true, false),
				remotecommand.StreamOptions{Stdin: strings.NewReader("through the proxy"), Stdout: io.Discard, Stderr: io.Discard})
			if code, ok := exitCode(r.err); !ok || code != 7 || r.stdout != "through the proxy" {
				t.Fatalf("%+v", r)
			}
		})
	}
	t.Run("port-forward spdy-over-websocket", func(t *testing.T) {
		_, podPort := podServer(t)
		d, err := portforward.NewSPDYOverWebsocketDialer(forwardURL(cfg, "default", "web-0", podPort), cfg)
		if err != nil {
			t.Fatal(err)
		}
		local := forwardWith(t, d, podPort)
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(fmt.Sprintf("http://127.0.0.1:%d/x", local))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "hello from the pod: GET /x " {
			t.Fatalf("%q", b)
		}
	})
}
