package hellostateful

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"petset/examples/internal/apptest"
)

func TestStoreAppends(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hello")
	s := httptest.NewServer(&Handler{Hostname: "hello-stateful-0", File: file, Service: DefaultService, Resolver: apptest.SRVTable{}})
	defer s.Close()
	if _, got := apptest.Call(t, "POST", s.URL+"/store", "xxx"); got != "hello from v2:hello-stateful-0" {
		t.Fatalf("store = %q", got)
	}
	apptest.Call(t, "POST", s.URL+"/store", "")
	apptest.Call(t, "POST", s.URL+"/store", "yyy")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "xxxhello from v2:hello-stateful-0yyy"; string(b) != want {
		t.Fatalf("file = %q, want %q", b, want)
	}
	if code, _ := apptest.Call(t, "GET", s.URL+"/other", ""); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
}

func TestGetListsSRVTargets(t *testing.T) {
	table := apptest.SRVTable{DefaultService: {
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
	if _, got := apptest.Call(t, "GET", s.URL+"/get", ""); got != want {
		t.Fatalf("get =\n%q\nwant\n%q", got, want)
	}
	missing := httptest.NewServer(&Handler{Hostname: "x", File: filepath.Join(t.TempDir(), "hello"), Service: "nope", Resolver: table})
	defer missing.Close()
	if _, got := apptest.Call(t, "GET", missing.URL+"/get", ""); got != "\n" {
		t.Fatalf("failed lookup = %q", got)
	}
}

func TestStoreOpenError(t *testing.T) {
	s := httptest.NewServer(&Handler{Hostname: "h", File: filepath.Join(t.TempDir(), "missing-dir", "hello")})
	defer s.Close()
	if _, got := apptest.Call(t, "POST", s.URL+"/store", "x"); got != "" {
		t.Fatalf("store with unwritable file answered %q", got)
	}
}
