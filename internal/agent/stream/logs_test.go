package stream

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"petset/internal/agent/runtime"
)

func getLogs(t *testing.T, client *http.Client, base, path string, q url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), "GET", base+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestLogs(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	ids := addPod(t, rt, pods, "default", "web-0", "nginx")
	id := ids["nginx"]
	t0 := t0()
	for i, l := range []string{"one", "two", "three"} {
		rt.appendLog(id, t0.Add(time.Duration(i)*time.Minute), l)
	}
	// A newer instance of the container, with its own log.
	st, err := rt.StartContainer(t.Context(), "default-web-0-uid", runtimeConfig("nginx", 1))
	if err != nil {
		t.Fatal(err)
	}
	pods.add("default", "web-0", "nginx", st.ID)
	rt.appendLog(st.ID, t0.Add(time.Hour), "restarted")

	base, cfg := startServer(t, rt, pods)
	client := httpClient(t, cfg)
	path := "/containerLogs/default/web-0/nginx"

	cases := []struct {
		name string
		path string
		q    url.Values
		code int
		body string
	}{
		{"current", path, nil, 200, "restarted\n"},
		{"previous", path, url.Values{"previous": {"true"}}, 200, "one\ntwo\nthree\n"},
		{"tail", path, url.Values{"previous": {"true"}, "tailLines": {"2"}}, 200, "two\nthree\n"},
		{"tail zero", path, url.Values{"previous": {"true"}, "tailLines": {"0"}}, 200, ""},
		{"limitBytes", path, url.Values{"previous": {"true"}, "limitBytes": {"6"}}, 200, "one\ntw"},
		{"sinceTime", path, url.Values{"previous": {"true"}, "sinceTime": {t0.Add(30 * time.Second).Format(time.RFC3339)}}, 200, "two\nthree\n"},
		{"sinceSeconds", path, url.Values{"previous": {"true"}, "sinceSeconds": {"60"}}, 200, ""},
		{"timestamps", path, url.Values{"timestamps": {"true"}}, 200, "2026-01-02T04:04:05Z restarted\n"},
		{"bad tail", path, url.Values{"tailLines": {"-1"}}, 400, "tailLines: must be greater than or equal to 0"},
		{"both since", path, url.Values{"sinceSeconds": {"5"}, "sinceTime": {t0.Format(time.RFC3339)}}, 400, "at most one of sinceTime or sinceSeconds may be specified"},
		{"unknown container", "/containerLogs/default/web-0/nope", nil, 404, "container nope is not valid for pod web-0"},
		{"unknown pod", "/containerLogs/default/web-9/nginx", nil, 404, "pod default/web-9 not found on this node"},
		{"previous as 1", "/containerLogs/default/web-0/nginx", url.Values{"previous": {"1"}, "tailLines": {"1"}}, 200, "three\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := getLogs(t, client, base, c.path, c.q)
			if code != c.code {
				t.Fatalf("status %d, want %d (body %q)", code, c.code, body)
			}
			if code == 200 {
				if body != c.body {
					t.Fatalf("body %q, want %q", body, c.body)
				}
				return
			}
			var st metav1.Status
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatalf("error body %q is not a Status: %v", body, err)
			}
			if st.Message != c.body || st.Code != int32(c.code) || st.Status != metav1.StatusFailure {
				t.Fatalf("status %+v, want message %q code %d", st, c.body, c.code)
			}
		})
	}
}

func TestLogsPreviousMissing(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	addPod(t, rt, pods, "default", "web-0", "nginx")
	base, cfg := startServer(t, rt, pods)
	code, body := getLogs(t, httpClient(t, cfg), base, "/containerLogs/default/web-0/nginx", url.Values{"previous": {"true"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `previous terminated container \"nginx\" in pod \"web-0\" not found`) {
		t.Fatalf("got %d %s", code, body)
	}
}

// TestLogsFollow reads a followed log line by line as lines are appended,
// and sees the stream end once the container's log ends.
func TestLogsFollow(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	id := addPod(t, rt, pods, "default", "web-0", "nginx")["nginx"]
	rt.appendLog(id, time.Now(), "first")
	_, cfg := startServer(t, rt, pods)

	// Through client-go's REST client, as kubectl logs -f reads it.
	rc, err := rest.RESTClientFor(restConfigForStreams(cfg))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := rc.Get().AbsPath("/containerLogs/default/web-0/nginx").Param("follow", "true").Stream(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	r := bufio.NewReader(stream)
	expect := func(want string) {
		t.Helper()
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading %q: %v", want, err)
		}
		if got != want+"\n" {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	expect("first")
	rt.appendLog(id, time.Now(), "second")
	expect("second")
	rt.appendLog(id, time.Now(), "third")
	expect("third")
	rt.closeLog(id)
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after the end of the log: %q, %v", rest, err)
	}
}

// TestLogsFollowShutdown: an open follow stream does not keep Run from
// returning (startServer's cleanup waits for Run).
func TestLogsFollowShutdown(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	id := addPod(t, rt, pods, "default", "web-0", "nginx")["nginx"]
	rt.appendLog(id, time.Now(), "first")
	base, cfg := startServer(t, rt, pods)
	req, _ := http.NewRequestWithContext(testContext(t), "GET", base+"/containerLogs/default/web-0/nginx?follow=true", nil)
	resp, err := httpClient(t, cfg).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}

// TestOnlyTheAPIServer: the streaming server takes only the API server's
// client certificate of the cluster CA; no certificate, one of another CA,
// or another name is refused, and a bearer token is no substitute.
func TestOnlyTheAPIServer(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{}
	addPod(t, rt, pods, "default", "web-0", "nginx")
	base, cfg := startServer(t, rt, pods)
	path := base + "/containerLogs/default/web-0/nginx"
	_, other := cas(t)

	// No certificate, even with a bearer token: the handshake fails.
	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer some-token")
	if resp, err := noCert.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("no client certificate: got %s, want a refused handshake", resp.Status)
	}
	// A certificate of another CA with the right name: refused too.
	foreign := other.tlsCert(t, apiServerClient)
	foreignClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{foreign}}}}
	if resp, err := foreignClient.Get(path); err == nil {
		resp.Body.Close()
		t.Fatalf("certificate of another CA: got %s, want a refused handshake", resp.Status)
	}
	// The cluster CA, but not the API server's name: 403.
	code, body := getLogs(t, httpClient(t, clientConfig(t, base, "system:node:web")), base, "/containerLogs/default/web-0/nginx", nil)
	if code != http.StatusForbidden {
		t.Errorf("another client of the cluster CA: status %d (%s), want 403", code, body)
	}
	code, _ = getLogs(t, httpClient(t, cfg), base, "/containerLogs/default/web-0/nginx", nil)
	if code != http.StatusOK {
		t.Fatalf("the API server's certificate: status %d", code)
	}
}

func runtimeConfig(name string, attempt int) runtime.ContainerConfig {
	return runtime.ContainerConfig{Name: name, Attempt: attempt, Argv: []string{"sleep", "infinity"}}
}

// restConfigForStreams makes cfg usable with rest.RESTClientFor.
func restConfigForStreams(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{Version: "v1"}
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

// t0 is a fixed log time.
func t0() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// TestLogsWaitingToStart: with ContainerNames, a declared container without
// an instance yet is "waiting to start"; an undeclared one is not valid.
func TestLogsWaitingToStart(t *testing.T) {
	rt := newHostRuntime(t)
	pods := &testPods{declared: map[string][]string{"default/web-0": {"nginx", "init"}}}
	addPod(t, rt, pods, "default", "web-0", "nginx")
	base, cfg := startServer(t, rt, podsWithSpec{pods})
	client := httpClient(t, cfg)
	code, body := getLogs(t, client, base, "/containerLogs/default/web-0/init", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, `container \"init\" in pod \"web-0\" is waiting to start`) {
		t.Fatalf("declared: %d %s", code, body)
	}
	code, body = getLogs(t, client, base, "/containerLogs/default/web-0/nope", nil)
	if code != http.StatusNotFound || !strings.Contains(body, "container nope is not valid for pod web-0") {
		t.Fatalf("undeclared: %d %s", code, body)
	}
}
