package kubia

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
	"time"

	"petset/examples/internal/apptest"
)

// do sends method to url and returns the body of the 200 it must answer.
func do(t *testing.T, url, method, body string) string {
	t.Helper()
	code, b := apptest.Call(t, method, url, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, url, code, b)
	}
	return b
}

func TestSeedConversation(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubia.txt")
	srv := httptest.NewServer(&Handler{Hostname: "kubia-0", DataFile: file})
	defer srv.Close()

	if got, want := do(t, srv.URL+"/", "GET", ""), "You've hit kubia-0\nData stored on this pod: No data posted yet\n"; got != want {
		t.Fatalf("GET before POST = %q, want %q", got, want)
	}
	if got, want := do(t, srv.URL+"/", "POST", "Hey there!"), "Data stored on pod kubia-0\n"; got != want {
		t.Fatalf("POST = %q, want %q", got, want)
	}
	if got, want := do(t, srv.URL+"/", "GET", ""), "You've hit kubia-0\nData stored on this pod: Hey there!\n"; got != want {
		t.Fatalf("GET after POST = %q, want %q", got, want)
	}
	// A second POST replaces the data, as the seed's createWriteStream does.
	do(t, srv.URL+"/", "POST", "second")
	if b, err := os.ReadFile(file); err != nil || string(b) != "second" {
		t.Fatalf("data file = %q, %v", b, err)
	}
}

func TestMainServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	file := filepath.Join(t.TempDir(), "kubia.txt")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, []string{"--listen", addr, "--data-file", file}) }()
	host, _ := os.Hostname()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("x"))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "Data stored on pod "+host+"\n" {
				t.Fatalf("POST = %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Main: %v", err)
	}
	if err := Main(context.Background(), []string{"--bogus"}); err == nil {
		t.Fatal("bad flag accepted")
	}
}
