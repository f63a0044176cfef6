package hellostateful

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type srvTable map[string][]*net.SRV

func (s srvTable) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	recs, ok := s[name]
	if !ok || service != "" || proto != "" {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return name + ".default.svc.cluster.local.", recs, nil
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStoreAppends(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hello")
	s := httptest.NewServer(&Handler{Hostname: "hello-stateful-0", File: file, Service: DefaultService, Resolver: srvTable{}})
	defer s.Close()
	if _, got := call(t, "POST", s.URL+"/store", "xxx"); got != "hello from v2:hello-stateful-0" {
		t.Fatalf("store = %q", got)
	}
	call(t, "POST", s.URL+"/store", "")
	call(t, "POST", s.URL+"/store", "yyy")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "xxxhello from v2:hello-stateful-0yyy"; string(b) != want {
		t.Fatalf("file = %q, want %q", b, want)
	}
	if code, _ := call(t, "GET", s.URL+"/other", ""); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
}

func TestGetListsSRVTargets(t *testing.T) {
	table := srvTable{DefaultService: {
		{Target: "hello-stateful-2.hello-stateful-service.default.svc.cluster.local.", Port: 8000},
		{Target: "hello-stateful-1.hello-stateful-service.default.svc.cluster.local.", Port: 8000},
		{Target: "hello-stateful-0.hello-stateful-service.default.svc.cluster.local.", Port: 8000},
	}}
	s := httptest.NewServer(&Handler{Hostname: "hello-stateful-0", File: filepath.Join(t.TempDir(), "hello"), Service: DefaultService, Resolver: table})
	defer s.Close()
	want := "hello-stateful-service.default.svc.cluster.local.\n" +
		"hello-stateful-2.hello-stateful-service.default.svc.cluster.local.:8000\n" +
		"hello-stateful-1.hello-stateful-service.default.svc.cluster.local.:8000\n" +
		"hello-stateful-0.hello-stateful-service.default.svc.cluster.local.:8000\n"
	if _, got := call(t, "GET", s.URL+"/get", ""); got != want {
		t.Fatalf("get =\n%q\nwant\n%q", got, want)
	}
	missing := httptest.NewServer(&Handler{Hostname: "x", File: filepath.Join(t.TempDir(), "hello"), Service: "nope", Resolver: table})
	defer missing.Close()
	if _, got := call(t, "GET", missing.URL+"/get", ""); got != "\n" {
		t.Fatalf("failed lookup = %q", got)
	}
}

func TestStoreOpenError(t *testing.T) {
	s := httptest.NewServer(&Handler{Hostname: "h", File: filepath.Join(t.TempDir(), "missing-dir", "hello")})
	defer s.Close()
	if _, got := call(t, "POST", s.URL+"/store", "x"); got != "" {
		t.Fatalf("store with unwritable file answered %q", got)
	}
}
