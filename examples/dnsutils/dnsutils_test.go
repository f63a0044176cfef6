package dnsutils

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// startServer runs a real miekg/dns server on 127.0.0.1 (UDP and TCP on the
// same port) holding a few records of the seeds' cluster, and writes a
// resolv.conf pointing at it.
func startServer(t *testing.T) (resolvConf, port string) {
	t.Helper()
	zone := map[string][]string{
		"kubia.default.svc.cluster.local./SRV": {
			"kubia.default.svc.cluster.local. 30 IN SRV 0 50 8080 kubia-0.kubia.default.svc.cluster.local.",
			"kubia.default.svc.cluster.local. 30 IN SRV 0 50 8080 kubia-1.kubia.default.svc.cluster.local.",
		},
		"kubia-0.kubia.default.svc.cluster.local./A":   {"kubia-0.kubia.default.svc.cluster.local. 30 IN A 10.88.0.4"},
		"kubia-1.kubia.default.svc.cluster.local./A":   {"kubia-1.kubia.default.svc.cluster.local. 30 IN A 10.88.0.6"},
		"web-0.nginx-svc.default.svc.cluster.local./A": {"web-0.nginx-svc.default.svc.cluster.local. 30 IN A 10.88.0.9"},
		"4.0.88.10.in-addr.arpa./PTR":                  {"4.0.88.10.in-addr.arpa. 30 IN PTR kubia-0.kubia.default.svc.cluster.local."},
	}
	names := map[string]bool{}
	for k := range zone {
		names[strings.Split(k, "/")[0]] = true
	}
	handler := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		for _, s := range zone[strings.ToLower(q.Name)+"/"+mdns.TypeToString[q.Qtype]] {
			rr, err := mdns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		if q.Qtype == mdns.TypeSRV {
			for _, a := range m.Answer {
				target := a.(*mdns.SRV).Target
				for _, s := range zone[target+"/A"] {
					rr, _ := mdns.NewRR(s)
					m.Extra = append(m.Extra, rr)
				}
			}
		}
		if !names[strings.ToLower(q.Name)] {
			m.Rcode = mdns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	pc, ln := listenUDPAndTCP(t)
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	_, port, _ = net.SplitHostPort(pc.LocalAddr().String())
	// resolv.conf has no port syntax: tests give the port through -p or
	// Tools.Port.
	file := filepath.Join(t.TempDir(), "resolv.conf")
	body := "nameserver 127.0.0.1\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, port
}

// listenUDPAndTCP listens on one loopback port for both UDP and TCP: a free
// UDP port whose TCP twin another process holds is given back and another
// tried.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		lastErr = err
	}
	t.Fatalf("no loopback port free for both UDP and TCP in 20 tries: %v", lastErr)
	return nil, nil
}

func TestDigSRV(t *testing.T) {
	rc, testPort := startServer(t)
	var out bytes.Buffer
	tools := &Tools{Out: &out, ResolvConf: rc}
	if err := tools.Dig(context.Background(), []string{"SRV", "kubia.default.svc.cluster.local", "-p", testPort}); err != nil {
		t.Fatalf("dig: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"status: NOERROR",
		"flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 2",
		";; ANSWER SECTION:\nkubia.default.svc.cluster.local.\t30\tIN\tSRV\t0 50 8080 kubia-0.kubia.default.svc.cluster.local.",
		";; ADDITIONAL SECTION:\nkubia-0.kubia.default.svc.cluster.local.\t30\tIN\tA\t10.88.0.4",
		";; SERVER: 127.0.0.1#" + testPort,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("dig output lacks %q:\n%s", want, s)
		}
	}

	out.Reset()
	if err := tools.Dig(context.Background(), []string{"+short", "kubia-0.kubia", "+search", "-p", testPort, "+tcp"}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "10.88.0.4" {
		t.Fatalf("+short +search = %q", out.String())
	}
	out.Reset()
	if err := tools.Dig(context.Background(), []string{"-x", "10.88.0.4", "+short", "@127.0.0.1", "-p", testPort}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "kubia-0.kubia.default.svc.cluster.local." {
		t.Fatalf("-x = %q", out.String())
	}
	if err := tools.Dig(context.Background(), []string{"+trace", "x"}); err == nil {
		t.Fatal("unsupported option accepted")
	}
}

func TestNslookupAndHost(t *testing.T) {
	rc, port := startServer(t)
	var out bytes.Buffer
	tools := &Tools{Out: &out, ResolvConf: rc, Port: port}
	if err := tools.Nslookup(context.Background(), []string{"web-0.nginx-svc"}); err != nil {
		t.Fatalf("nslookup: %v\n%s", err, out.String())
	}
	if want := "Name:\tweb-0.nginx-svc.default.svc.cluster.local\nAddress: 10.88.0.9\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("nslookup output:\n%s", out.String())
	}
	out.Reset()
	if err := tools.Nslookup(context.Background(), []string{"nosuch"}); err == nil || !strings.Contains(out.String(), "** server can't find nosuch: NXDOMAIN") {
		t.Fatalf("nslookup nosuch: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := tools.Host(context.Background(), []string{"kubia-1.kubia"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "kubia-1.kubia.default.svc.cluster.local has address 10.88.0.6\n" {
		t.Fatalf("host = %q", out.String())
	}
	out.Reset()
	if err := tools.Host(context.Background(), []string{"-t", "SRV", "kubia"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubia.default.svc.cluster.local has SRV record 0 50 8080 kubia-0.kubia.default.svc.cluster.local.") {
		t.Fatalf("host -t SRV = %q", out.String())
	}
}

func TestSleepAndExec(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Main(ctx, []string{"sleep", "infinity"}); err != nil {
		t.Fatal(err)
	}
	if err := Main(context.Background(), []string{"sleep", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := Main(context.Background(), []string{"sleep", "soon"}); err == nil {
		t.Fatal("bad interval accepted")
	}
	if err := Main(context.Background(), []string{"no-such-program-petset"}); err == nil {
		t.Fatal("missing program accepted")
	}
}
