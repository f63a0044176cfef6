package inproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	restclient "k8s.io/client-go/rest"

	"petset/internal/pki"
)

func client(h http.Handler) *http.Client { return &http.Client{Transport: &Transport{Handler: h}} }

func TestRequestLooksLikeNetHTTPs(t *testing.T) {
	var got *http.Request
	var gotBody string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, "made")
	})
	req, _ := http.NewRequest(http.MethodPost, "https://127.0.0.1:6443/api/v1/namespaces/a%2Fb/pods?watch=1&x=y", strings.NewReader("pod"))
	req.Header.Set("Authorization", "Bearer tok")
	res, err := client(h).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.Header.Get("X-Answer") != "42" || string(body) != "made" || res.ContentLength != 4 {
		t.Errorf("response %d %v %q length %d", res.StatusCode, res.Header, body, res.ContentLength)
	}
	if got.RequestURI != "/api/v1/namespaces/a%2Fb/pods?watch=1&x=y" || got.URL.Path != "/api/v1/namespaces/a/b/pods" ||
		got.URL.RawQuery != "watch=1&x=y" || got.URL.Host != "" {
		t.Errorf("RequestURI %q URL %#v", got.RequestURI, got.URL)
	}
	if got.Host != "127.0.0.1:6443" || got.RemoteAddr != "127.0.0.1:0" || got.Proto != "HTTP/2.0" || got.ProtoMajor != 2 {
		t.Errorf("Host %q RemoteAddr %q Proto %q %d", got.Host, got.RemoteAddr, got.Proto, got.ProtoMajor)
	}
	if got.Header.Get("Authorization") != "Bearer tok" || gotBody != "pod" || got.ContentLength != 3 || got.Header.Get("Content-Length") != "3" {
		t.Errorf("header %v body %q length %d", got.Header, gotBody, got.ContentLength)
	}
	if got.TLS == nil || !got.TLS.HandshakeComplete || len(got.TLS.PeerCertificates) != 0 {
		t.Errorf("TLS %+v", got.TLS)
	}
	if got.Context().Err() == nil {
		t.Error("the handler's context did not end with it")
	}
}

func TestGetHasABody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method != http.MethodGet {
			t.Errorf("method %q body %v", r.Method, r.Body)
		}
		n, err := r.Body.Read(make([]byte, 1))
		if n != 0 || err != io.EOF {
			t.Errorf("read %d %v", n, err)
		}
	})
	res, err := client(h).Get("https://x/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d", res.StatusCode)
	}
}

func TestClientCertificateIsThePeerChain(t *testing.T) {
	certPEM, keyPEM, err := pki.SelfSigned("system:node:n1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var cn string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) == 1 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
	})
	cfg, err := Config(&restclient.Config{
		Host:            "https://127.0.0.1:6443",
		TLSClientConfig: restclient.TLSClientConfig{CertData: certPEM, KeyData: keyPEM, CAData: certPEM},
	}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := restclient.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&http.Client{Transport: rt}).Get(cfg.Host + "/api")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if cn != "system:node:n1" {
		t.Errorf("peer certificate %q, want system:node:n1", cn)
	}
}

func TestCertificateFileIsReadAgainWhenItChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "current.pem")
	write := func(name string) {
		certPEM, keyPEM, err := pki.SelfSigned(name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(certPEM, keyPEM...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	get := CertificateFile(path)
	certs, err := get()
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "one" {
		t.Fatalf("certs %v err %v", certs, err)
	}
	write("rotated-two") // another size, so another file even within the same mtime tick
	f := get
	for {
		certs, err = f()
		if err != nil {
			t.Fatal(err)
		}
		if certs[0].Subject.CommonName == "rotated-two" {
			break
		}
		time.Sleep(50 * time.Millisecond) // until the recheck
	}
}

func TestStreamingResponseArrivesBeforeTheHandlerEnds(t *testing.T) {
	next := make(chan string)
	ended := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for s := range next {
			fmt.Fprint(w, s)
			w.(http.Flusher).Flush()
		}
		ended <- r.Context().Err()
	})
	res, err := client(h).Get("https://x/watch")
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("Content-Type") != "application/json" || res.ContentLength != -1 {
		t.Errorf("header %v length %d", res.Header, res.ContentLength)
	}
	buf := make([]byte, 16)
	for _, s := range []string{"event1", "event2"} {
		next <- s
		n, err := io.ReadAtLeast(res.Body, buf, len(s))
		if err != nil || string(buf[:n]) != s {
			t.Fatalf("read %q %v, want %q", buf[:n], err, s)
		}
	}
	close(next)
	if err := <-ended; err != nil {
		t.Errorf("the handler's context ended before it did: %v", err)
	}
	if n, err := res.Body.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the handler: %d %v, want EOF", n, err)
	}
	res.Body.Close()
}

func TestClosingTheBodyCancelsTheHandler(t *testing.T) {
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		var err error
		for err == nil {
			_, err = w.Write(bytes.Repeat([]byte("x"), 1000))
		}
		<-r.Context().Done()
		done <- err
	})
	res, err := client(h).Get("https://x/logs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := <-done; err == nil {
		t.Error("the handler's write did not fail")
	}
	if _, err := res.Body.Read(make([]byte, 1)); err == nil {
		t.Error("read after Close succeeded")
	}
}

func TestCancellingTheRequestCancelsTheHandler(t *testing.T) {
	for _, stage := range []string{"before the headers", "while streaming"} {
		t.Run(stage, func(t *testing.T) {
			started := make(chan struct{})
			done := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if stage == "while streaming" {
					w.(http.Flusher).Flush()
				}
				close(started)
				<-r.Context().Done()
				close(done)
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://x/watch", nil)
			errc := make(chan error, 1)
			go func() {
				res, err := client(h).Do(req)
				if err == nil {
					_, err = io.ReadAll(res.Body)
					res.Body.Close()
				}
				errc <- err
			}()
			<-started
			cancel()
			<-done
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("client error %v, want context.Canceled", err)
			}
		})
	}
}

func TestAPanicFailsThatRequestOnly(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/before":
			panic("boom")
		case "/after":
			fmt.Fprint(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		fmt.Fprint(w, "fine")
	})
	c := client(h)
	if _, err := c.Get("https://x/before"); err == nil {
		t.Error("a panic before the headers: no error")
	}
	res, err := c.Get("https://x/after")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Error("a panic while streaming: the body ended without error")
	}
	res.Body.Close()
	res, err = c.Get("https://x/ok")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "fine" {
		t.Errorf("after the panics: %q", b)
	}
}

func TestLargeBodiesBothWays(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// echo in small writes, then a large one
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		for i := 0; i < len(b); i += 1000 {
			w.Write(b[i:min(i+1000, len(b))])
		}
		w.Write(b)
	})
	in := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB
	res, err := client(h).Post("https://x/echo", "application/octet-stream", bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || !bytes.Equal(out, append(append([]byte{}, in...), in...)) {
		t.Errorf("echo: %d bytes, err %v; want %d", len(out), err, 2*len(in))
	}
}

func TestConcurrentRequests(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("stream") != "" {
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, r.URL.Query().Get("i"))
	})
	c := client(h)
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("https://x/?i=%d", i)
			if i%2 == 0 {
				url += "&stream=1"
			}
			res, err := c.Get(url)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) != fmt.Sprint(i) {
				t.Errorf("request %d: %q", i, b)
			}
		}()
	}
	wg.Wait()
}

func TestNoBodyWhereNoneIsAllowed(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
			t.Errorf("write after 204: %v", err)
		}
	})
	res, err := client(h).Get("https://x/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || len(b) != 0 {
		t.Errorf("%d %q", res.StatusCode, b)
	}
}

func TestUpgradesAreRefused(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("an upgrade reached the handler") })
	req, _ := http.NewRequest(http.MethodPost, "https://x/api/v1/namespaces/d/pods/p/exec", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	if _, err := client(h).Do(req); !errors.Is(err, ErrUpgrade) {
		t.Errorf("upgrade: %v, want ErrUpgrade", err)
	}
}

func TestConfigRefusesWhatItCannotServe(t *testing.T) {
	h := http.NotFoundHandler()
	if _, err := Config(&restclient.Config{Host: "https://x", Transport: http.DefaultTransport}, h, nil); err == nil {
		t.Error("a config with its own transport was accepted")
	}
	cfg, err := Config(&restclient.Config{Host: "https://x", BearerToken: "t", TLSClientConfig: restclient.TLSClientConfig{CAData: []byte("ca"), ServerName: "s"}}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BearerToken != "t" || cfg.CAData != nil || cfg.ServerName != "" {
		t.Errorf("config %+v", cfg)
	}
}
