package dns

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// cluster is a DNS server fed by real informers over a fake clientset.
type cluster struct {
	t      *testing.T
	client kubernetes.Interface
	srv    *Server
	addr   string
}

func startCluster(t testing.TB, cfg Config, objs ...runtime.Object) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	if cfg.Addrs == nil {
		cfg.Addrs = []string{"127.0.0.1:0"}
	}
	srv, err := New(ctx, cfg, factory.Core().V1().Services(), factory.Discovery().V1().EndpointSlices())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run returned before ready: %v", err)
	}
	tt, _ := t.(*testing.T)
	return &cluster{t: tt, client: client, srv: srv, addr: srv.Addrs()[0].String()}
}

func (c *cluster) ask(t testing.TB, network, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	cl := &mdns.Client{Net: network, Timeout: 10 * time.Second}
	resp, _, err := cl.Exchange(m, c.addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, mdns.TypeToString[qtype], err)
	}
	return resp
}

// rrs renders records without TTL-independent noise: "name TYPE data".
func rrs(in []mdns.RR) []string {
	var out []string
	for _, rr := range in {
		if rr.Header().Rrtype == mdns.TypeOPT {
			continue
		}
		f := strings.Fields(rr.String())
		// name ttl class type data...
		out = append(out, f[0]+" "+strings.Join(f[3:], " "))
	}
	sort.Strings(out)
	return out
}

func headlessService(ns, name string, publishNotReady bool, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, ClusterIPs: []string{corev1.ClusterIPNone},
			Ports: ports, PublishNotReadyAddresses: publishNotReady,
		},
	}
}

func clusterIPService(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip}, Ports: ports},
	}
}

type ep struct {
	host  string
	ip    string
	ready bool
}

func slice(ns, name, svc string, addrType discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...ep) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: addrType,
		Ports:       ports,
	}
	for _, e := range eps {
		d := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)}}
		if e.host != "" {
			d.Hostname = ptr.To(e.host)
		}
		es.Endpoints = append(es.Endpoints, d)
	}
	return es
}

func epPort(name string, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}
}

// kubiaObjects is seed 000's headless kubia Service with two ready pods and
// one not ready.
func kubiaObjects() []runtime.Object {
	return []runtime.Object{
		headlessService("default", "kubia", false, corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}),
		slice("default", "kubia-abc", "kubia", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{epPort("http", 8080)},
			ep{"kubia-0", "10.244.0.4", true}, ep{"kubia-1", "10.244.0.6", true}, ep{"kubia-2", "10.244.0.7", false}),
		clusterIPService("default", "web", "10.96.0.20", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}),
		slice("default", "web-xyz", "web", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{epPort("http", 8080)},
			ep{"", "10.244.1.5", true}),
	}
}

func TestHeadlessServiceRecords(t *testing.T) {
	c := startCluster(t, Config{}, kubiaObjects()...)
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			r := c.ask(t, network, "kubia.default.svc.cluster.local.", mdns.TypeSRV)
			if r.Rcode != mdns.RcodeSuccess || !r.Authoritative {
				t.Fatalf("rcode %s aa=%v", mdns.RcodeToString[r.Rcode], r.Authoritative)
			}
			wantSRV := []string{
				"kubia.default.svc.cluster.local. SRV 0 50 8080 kubia-0.kubia.default.svc.cluster.local.",
				"kubia.default.svc.cluster.local. SRV 0 50 8080 kubia-1.kubia.default.svc.cluster.local.",
			}
			if got := rrs(r.Answer); !slices.Equal(got, wantSRV) {
				t.Fatalf("SRV answer = %q, want %q", got, wantSRV)
			}
			wantExtra := []string{
				"kubia-0.kubia.default.svc.cluster.local. A 10.244.0.4",
				"kubia-1.kubia.default.svc.cluster.local. A 10.244.0.6",
			}
			if got := rrs(r.Extra); !slices.Equal(got, wantExtra) {
				t.Fatalf("SRV extra = %q, want %q", got, wantExtra)
			}
			if r.Answer[0].Header().Ttl != 30 {
				t.Fatalf("ttl = %d, want 30", r.Answer[0].Header().Ttl)
			}

			r = c.ask(t, network, "_http._tcp.kubia.default.svc.cluster.local.", mdns.TypeSRV)
			if got := rrs(r.Answer); len(got) != 2 || !strings.Contains(got[0], "SRV 0 50 8080 kubia-0.kubia.default.svc.cluster.local.") {
				t.Fatalf("_http._tcp SRV = %q", got)
			}

			r = c.ask(t, network, "kubia.default.svc.cluster.local.", mdns.TypeA)
			want := []string{"kubia.default.svc.cluster.local. A 10.244.0.4", "kubia.default.svc.cluster.local. A 10.244.0.6"}
			if got := rrs(r.Answer); !slices.Equal(got, want) {
				t.Fatalf("A = %q, want %q", got, want)
			}

			r = c.ask(t, network, "kubia-1.kubia.default.svc.cluster.local.", mdns.TypeA)
			if got := rrs(r.Answer); !slices.Equal(got, []string{"kubia-1.kubia.default.svc.cluster.local. A 10.244.0.6"}) {
				t.Fatalf("pod A = %q", got)
			}
			// Case-insensitive, owner keeps the asked case.
			r = c.ask(t, network, "Kubia-1.KUBIA.default.svc.cluster.local.", mdns.TypeA)
			if len(r.Answer) != 1 || r.Answer[0].Header().Name != "Kubia-1.KUBIA.default.svc.cluster.local." {
				t.Fatalf("mixed case answer = %v", r.Answer)
			}
		})
	}
}

func TestNotReadyEndpoints(t *testing.T) {
	c := startCluster(t, Config{}, kubiaObjects()...)
	r := c.ask(t, "udp", "kubia-2.kubia.default.svc.cluster.local.", mdns.TypeA)
	if r.Rcode != mdns.RcodeNameError {
		t.Fatalf("not-ready endpoint: rcode %s, answer %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	svc, err := c.client.CoreV1().Services("default").Get(context.Background(), "kubia", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.PublishNotReadyAddresses = true
	if _, err := c.client.CoreV1().Services("default").Update(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "publishNotReadyAddresses to serve kubia-2", func() bool {
		r := c.ask(t, "udp", "kubia-2.kubia.default.svc.cluster.local.", mdns.TypeA)
		return slices.Equal(rrs(r.Answer), []string{"kubia-2.kubia.default.svc.cluster.local. A 10.244.0.7"})
	})
	r = c.ask(t, "udp", "kubia.default.svc.cluster.local.", mdns.TypeSRV)
	if got := rrs(r.Answer); len(got) != 3 || !strings.Contains(got[0], "SRV 0 33 8080") {
		t.Fatalf("SRV with not-ready published = %q", got)
	}
}

func TestClusterIPService(t *testing.T) {
	c := startCluster(t, Config{}, kubiaObjects()...)
	r := c.ask(t, "udp", "web.default.svc.cluster.local.", mdns.TypeA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"web.default.svc.cluster.local. A 10.96.0.20"}) {
		t.Fatalf("A = %q", got)
	}
	r = c.ask(t, "tcp", "web.default.svc.cluster.local.", mdns.TypeSRV)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"web.default.svc.cluster.local. SRV 0 100 80 web.default.svc.cluster.local."}) {
		t.Fatalf("SRV = %q", got)
	}
	if got := rrs(r.Extra); !slices.Equal(got, []string{"web.default.svc.cluster.local. A 10.96.0.20"}) {
		t.Fatalf("SRV extra = %q", got)
	}
	// An endpoint without hostname is reachable by its dashed address.
	r = c.ask(t, "udp", "10-244-1-5.web.default.svc.cluster.local.", mdns.TypeA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"10-244-1-5.web.default.svc.cluster.local. A 10.244.1.5"}) {
		t.Fatalf("endpoint A = %q", got)
	}
	// NODATA: the name exists, no AAAA.
	r = c.ask(t, "udp", "web.default.svc.cluster.local.", mdns.TypeAAAA)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != mdns.TypeSOA {
		t.Fatalf("AAAA: rcode %s answer %v ns %v", mdns.RcodeToString[r.Rcode], r.Answer, r.Ns)
	}
}

func TestPTRAndPodRecords(t *testing.T) {
	c := startCluster(t, Config{}, kubiaObjects()...)
	cases := map[string]string{
		"4.0.244.10.in-addr.arpa.": "kubia-0.kubia.default.svc.cluster.local.",
		"20.0.96.10.in-addr.arpa.": "web.default.svc.cluster.local.",
		"5.1.244.10.in-addr.arpa.": "10-244-1-5.web.default.svc.cluster.local.",
	}
	for name, want := range cases {
		r := c.ask(t, "udp", name, mdns.TypePTR)
		if len(r.Answer) != 1 || r.Answer[0].(*mdns.PTR).Ptr != want {
			t.Errorf("PTR %s = %v, want %s", name, r.Answer, want)
		}
	}
	r := c.ask(t, "udp", "10-244-3-9.default.pod.cluster.local.", mdns.TypeA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"10-244-3-9.default.pod.cluster.local. A 10.244.3.9"}) {
		t.Fatalf("pod A = %q", got)
	}
	r = c.ask(t, "udp", "fd00--5.default.pod.cluster.local.", mdns.TypeAAAA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"fd00--5.default.pod.cluster.local. AAAA fd00::5"}) {
		t.Fatalf("pod AAAA = %q", got)
	}
	r = c.ask(t, "udp", "not-an-ip.default.pod.cluster.local.", mdns.TypeA)
	if r.Rcode != mdns.RcodeNameError {
		t.Fatalf("bad pod name rcode %s", mdns.RcodeToString[r.Rcode])
	}
}

func TestMissingNamesAndOtherZones(t *testing.T) {
	c := startCluster(t, Config{}, kubiaObjects()...)
	for _, name := range []string{
		"nosuch.default.svc.cluster.local.",
		"kubia.other.svc.cluster.local.",
		"kubia-9.kubia.default.svc.cluster.local.",
		"_nope._tcp.kubia.default.svc.cluster.local.",
		"kubia.default.svc.cluster.local.default.svc.cluster.local.", // search-path expansion
		"foo.cluster.local.",
	} {
		r := c.ask(t, "udp", name, mdns.TypeA)
		if r.Rcode != mdns.RcodeNameError {
			t.Errorf("%s: rcode %s, want NXDOMAIN", name, mdns.RcodeToString[r.Rcode])
			continue
		}
		if len(r.Ns) != 1 {
			t.Errorf("%s: authority %v, want the SOA", name, r.Ns)
			continue
		}
		soa, ok := r.Ns[0].(*mdns.SOA)
		if !ok || soa.Hdr.Name != "cluster.local." || soa.Minttl != 30 {
			t.Errorf("%s: authority %v", name, r.Ns[0])
		}
	}
	r := c.ask(t, "udp", "default.svc.cluster.local.", mdns.TypeA)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("namespace name: rcode %s answer %v, want NODATA", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	r = c.ask(t, "udp", "cluster.local.", mdns.TypeSOA)
	if len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != mdns.TypeSOA {
		t.Errorf("apex SOA = %v", r.Answer)
	}
	r = c.ask(t, "tcp", "dns-version.cluster.local.", mdns.TypeTXT)
	if got := rrs(r.Answer); !slices.Equal(got, []string{`dns-version.cluster.local. TXT "1.1.0"`}) {
		t.Errorf("dns-version = %q", got)
	}
	for _, network := range []string{"udp", "tcp"} {
		r = c.ask(t, network, "example.com.", mdns.TypeA)
		if r.Rcode != mdns.RcodeRefused {
			t.Errorf("%s example.com: rcode %s, want REFUSED", network, mdns.RcodeToString[r.Rcode])
		}
		r = c.ask(t, network, "9.9.9.10.in-addr.arpa.", mdns.TypePTR)
		if r.Rcode != mdns.RcodeRefused {
			t.Errorf("%s unknown PTR: rcode %s, want REFUSED", network, mdns.RcodeToString[r.Rcode])
		}
	}
}

func TestForwarding(t *testing.T) {
	// The upstream is a real miekg/dns server answering example.com.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.7")})
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	upstream.NotifyStartedFunc = func() { close(started) }
	go func() { _ = upstream.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = upstream.Shutdown() })

	// A silent upstream (bound, never answers) comes first: the server must
	// move on to the next one.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })

	c := startCluster(t, Config{Forward: []string{silent.LocalAddr().String(), pc.LocalAddr().String()}, ForwardTimeout: 300 * time.Millisecond}, kubiaObjects()...)
	r := c.ask(t, "udp", "www.example.com.", mdns.TypeA)
	if got := rrs(r.Answer); r.Rcode != mdns.RcodeSuccess || !slices.Equal(got, []string{"www.example.com. A 192.0.2.7"}) {
		t.Fatalf("forwarded: rcode %s answer %q", mdns.RcodeToString[r.Rcode], got)
	}
	// In-zone names are still answered locally.
	r = c.ask(t, "udp", "web.default.svc.cluster.local.", mdns.TypeA)
	if len(r.Answer) != 1 {
		t.Fatalf("in-zone with forwarding: %v", r.Answer)
	}

	dead := startCluster(t, Config{Forward: []string{silent.LocalAddr().String()}, ForwardTimeout: 200 * time.Millisecond})
	r = dead.ask(t, "udp", "www.example.com.", mdns.TypeA)
	if r.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("all upstreams silent: rcode %s, want SERVFAIL", mdns.RcodeToString[r.Rcode])
	}
}

func TestIndexFollowsChanges(t *testing.T) {
	c := startCluster(t, Config{}, kubiaObjects()...)
	ctx := context.Background()
	name := "hello-stateful-service.default.svc.cluster.local."
	r := c.ask(t, "udp", name, mdns.TypeSRV)
	if r.Rcode != mdns.RcodeNameError {
		t.Fatalf("before create: %s", mdns.RcodeToString[r.Rcode])
	}
	if _, err := c.client.CoreV1().Services("default").Create(ctx, headlessService("default", "hello-stateful-service", false, corev1.ServicePort{Name: "http", Port: 8000}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	es := slice("default", "hello-1", "hello-stateful-service", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{epPort("http", 8000)},
		ep{"hello-stateful-0", "10.244.2.2", true})
	if _, err := c.client.DiscoveryV1().EndpointSlices("default").Create(ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one SRV target", func() bool {
		return len(c.ask(t, "udp", name, mdns.TypeSRV).Answer) == 1
	})
	es.Endpoints = append(es.Endpoints,
		discoveryv1.Endpoint{Addresses: []string{"10.244.2.3"}, Hostname: ptr.To("hello-stateful-1"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		discoveryv1.Endpoint{Addresses: []string{"10.244.2.4"}, Hostname: ptr.To("hello-stateful-2"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	if _, err := c.client.DiscoveryV1().EndpointSlices("default").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three SRV targets", func() bool {
		return len(c.ask(t, "udp", name, mdns.TypeSRV).Answer) == 3
	})

	// The seed's lookup: Go's resolver parses the answer.
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, c.addr)
	}}
	cname, srvs, err := res.LookupSRV(ctx, "", "", name)
	if err != nil {
		t.Fatalf("LookupSRV: %v", err)
	}
	var targets []string
	for _, s := range srvs {
		targets = append(targets, fmt.Sprintf("%s:%d", s.Target, s.Port))
	}
	sort.Strings(targets)
	want := []string{
		"hello-stateful-0.hello-stateful-service.default.svc.cluster.local.:8000",
		"hello-stateful-1.hello-stateful-service.default.svc.cluster.local.:8000",
		"hello-stateful-2.hello-stateful-service.default.svc.cluster.local.:8000",
	}
	if cname != name || !slices.Equal(targets, want) {
		t.Fatalf("LookupSRV = %s %q, want %s %q", cname, targets, name, want)
	}

	// Slice deleted: a headless service without endpoints has no records.
	if err := c.client.DiscoveryV1().EndpointSlices("default").Delete(ctx, "hello-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SRV gone with the slice", func() bool {
		return c.ask(t, "udp", name, mdns.TypeSRV).Rcode == mdns.RcodeNameError
	})
	// Service deleted: PTR of the cluster IP goes too.
	if err := c.client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web gone", func() bool {
		return c.ask(t, "udp", "web.default.svc.cluster.local.", mdns.TypeA).Rcode == mdns.RcodeNameError &&
			c.ask(t, "udp", "20.0.96.10.in-addr.arpa.", mdns.TypePTR).Rcode == mdns.RcodeRefused
	})
}

func TestExternalNameAndIPv6(t *testing.T) {
	ext := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
	}
	v6 := headlessService("ns6", "six", false, corev1.ServicePort{Name: "http", Port: 80})
	es := slice("ns6", "six-a", "six", discoveryv1.AddressTypeIPv6, []discoveryv1.EndpointPort{epPort("http", 80)}, ep{"six-0", "fd00::10", true})
	c := startCluster(t, Config{Zone: "petset.test"}, ext, v6, es)
	r := c.ask(t, "udp", "db.default.svc.petset.test.", mdns.TypeA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"db.default.svc.petset.test. CNAME db.example.com."}) {
		t.Fatalf("ExternalName = %q", got)
	}
	r = c.ask(t, "udp", "six.ns6.svc.petset.test.", mdns.TypeAAAA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"six.ns6.svc.petset.test. AAAA fd00::10"}) {
		t.Fatalf("AAAA = %q", got)
	}
	r = c.ask(t, "udp", "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", mdns.TypePTR)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.PTR).Ptr != "six-0.six.ns6.svc.petset.test." {
		t.Fatalf("v6 PTR = %v", r.Answer)
	}
	r = c.ask(t, "udp", "six.ns6.svc.cluster.local.", mdns.TypeAAAA)
	if r.Rcode != mdns.RcodeRefused {
		t.Fatalf("other zone: %s", mdns.RcodeToString[r.Rcode])
	}
}

func TestTruncationOverUDP(t *testing.T) {
	var eps []ep
	for i := range 60 {
		eps = append(eps, ep{fmt.Sprintf("big-%d", i), fmt.Sprintf("10.1.0.%d", i+1), true})
	}
	c := startCluster(t, Config{},
		headlessService("default", "big", false, corev1.ServicePort{Name: "http", Port: 80}),
		slice("default", "big-a", "big", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{epPort("http", 80)}, eps...))
	m := new(mdns.Msg)
	m.SetQuestion("big.default.svc.cluster.local.", mdns.TypeSRV)
	r, _, err := (&mdns.Client{Net: "udp", Timeout: 10 * time.Second}).Exchange(m, c.addr)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) >= 60 {
		t.Fatalf("udp: truncated=%v answers=%d", r.Truncated, len(r.Answer))
	}
	r = c.ask(t, "tcp", "big.default.svc.cluster.local.", mdns.TypeSRV)
	if r.Truncated || len(r.Answer) != 60 {
		t.Fatalf("tcp: truncated=%v answers=%d", r.Truncated, len(r.Answer))
	}
}

func TestReverseIP(t *testing.T) {
	tests := map[string]string{
		"4.3.2.1.in-addr.arpa.": "1.2.3.4",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.": "2001:db8::1",
		"3.2.1.in-addr.arpa.":   "",
		"x.3.2.1.in-addr.arpa.": "",
		"example.com.":          "",
	}
	for in, want := range tests {
		ip, ok := reverseIP(in)
		if (want == "") == ok || (ok && ip.String() != want) {
			t.Errorf("reverseIP(%q) = %v, %v; want %q", in, ip, ok, want)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkQuerySRV(b *testing.B) {
	c := startCluster(b, Config{}, kubiaObjects()...)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("udp", c.addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		co := &mdns.Conn{Conn: conn}
		m := new(mdns.Msg)
		m.SetQuestion("kubia.default.svc.cluster.local.", mdns.TypeSRV)
		for pb.Next() {
			m.Id = mdns.Id()
			if err := co.WriteMsg(m); err != nil {
				b.Error(err)
				return
			}
			r, err := co.ReadMsg()
			if err != nil {
				b.Error(err)
				return
			}
			if len(r.Answer) != 2 {
				b.Errorf("answers = %d", len(r.Answer))
				return
			}
		}
	})
}

func TestHeadlessWithoutPorts(t *testing.T) {
	c := startCluster(t, Config{TTL: 5},
		headlessService("default", "bare", false),
		slice("default", "bare-a", "bare", discoveryv1.AddressTypeIPv4, nil, ep{"bare-0", "10.244.5.1", true}))
	r := c.ask(t, "udp", "bare.default.svc.cluster.local.", mdns.TypeA)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"bare.default.svc.cluster.local. A 10.244.5.1"}) || r.Answer[0].Header().Ttl != 5 {
		t.Fatalf("A = %v", r.Answer)
	}
	r = c.ask(t, "udp", "bare.default.svc.cluster.local.", mdns.TypeSRV)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("SRV without ports: rcode %s answer %v, want NODATA", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	r = c.ask(t, "udp", "bare-0.bare.default.svc.cluster.local.", mdns.TypeA)
	if len(r.Answer) != 1 {
		t.Fatalf("endpoint A = %v", r.Answer)
	}
}

func TestHostResolvers(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/resolv.conf"
	content := "# generated\nsearch example.org\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver 10.88.0.1\noptions ndots:2\nnameserver bogus\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := HostResolvers(path, "10.88.0.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.255.255.53", "127.0.0.53"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("HostResolvers = %v, want %v", got, want)
	}
	if got, err := HostResolvers(dir + "/missing"); err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v", got, err)
	}
}
