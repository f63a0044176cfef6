package dnsutils

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
)

// ResolvConf is the resolver configuration file the tools read.
var ResolvConf = "/etc/resolv.conf"

// Main runs args[0] (dig, nslookup, host, sleep, or any program on PATH).
func Main(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("dnsutils: no command (want dig, nslookup, host, sleep or a program)")
	}
	t := &Tools{Out: os.Stdout, ResolvConf: ResolvConf}
	switch args[0] {
	case "dig":
		return t.Dig(ctx, args[1:])
	case "nslookup":
		return t.Nslookup(ctx, args[1:])
	case "host":
		return t.Host(ctx, args[1:])
	case "sleep":
		return sleep(ctx, args[1:])
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return fmt.Errorf("dnsutils: %w", err)
	}
	return syscall.Exec(path, args, os.Environ())
}

func sleep(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: sleep SECONDS|infinity")
	}
	if args[0] == "infinity" {
		<-ctx.Done()
		return nil
	}
	secs, err := strconv.ParseFloat(strings.TrimSuffix(args[0], "s"), 64)
	if err != nil || secs < 0 {
		return fmt.Errorf("sleep: invalid time interval %q", args[0])
	}
	timer := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil
}

// Tools runs the DNS tools against the servers of ResolvConf (or an
// explicit server), writing to Out.
type Tools struct {
	Out        io.Writer
	ResolvConf string
	Port       string // server port when no -p is given; "" means 53
}

type digOptions struct {
	server  string
	port    string
	qtype   uint16
	qclass  uint16
	name    string
	short   bool
	tcp     bool
	search  bool
	typeSet bool
}

func parseDig(args []string) (digOptions, error) {
	o := digOptions{qclass: mdns.ClassINET}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("dig: option %s needs an argument", a)
			}
			i++
			return args[i], nil
		}
		switch {
		case strings.HasPrefix(a, "@"):
			o.server = a[1:]
		case a == "+short":
			o.short = true
		case a == "+tcp" || a == "+vc":
			o.tcp = true
		case a == "+search":
			o.search = true
		case a == "+nosearch":
			o.search = false
		case a == "-p":
			v, err := next()
			if err != nil {
				return o, err
			}
			o.port = v
		case a == "-t":
			v, err := next()
			if err != nil {
				return o, err
			}
			t, ok := mdns.StringToType[strings.ToUpper(v)]
			if !ok {
				return o, fmt.Errorf("dig: unknown type %q", v)
			}
			o.qtype, o.typeSet = t, true
		case a == "-x":
			v, err := next()
			if err != nil {
				return o, err
			}
			rev, err := mdns.ReverseAddr(v)
			if err != nil {
				return o, fmt.Errorf("dig: -x %s: %w", v, err)
			}
			o.name, o.qtype, o.typeSet = rev, mdns.TypePTR, true
		case strings.HasPrefix(a, "+") || strings.HasPrefix(a, "-"):
			return o, fmt.Errorf("dig: unsupported option %q", a)
		default:
			// As dig: a type or class keyword is taken as such, wherever it is.
			if t, ok := mdns.StringToType[strings.ToUpper(a)]; ok && !o.typeSet {
				o.qtype, o.typeSet = t, true
				continue
			}
			if c, ok := mdns.StringToClass[strings.ToUpper(a)]; ok {
				o.qclass = c
				continue
			}
			if o.name != "" {
				return o, fmt.Errorf("dig: more than one name: %q and %q", o.name, a)
			}
			o.name = a
		}
	}
	if o.name == "" {
		o.name = "."
		if !o.typeSet {
			o.qtype = mdns.TypeNS
		}
	}
	if !o.typeSet && o.qtype == 0 {
		o.qtype = mdns.TypeA
	}
	return o, nil
}

// config reads the resolver configuration, or returns an empty one.
func (t *Tools) config() *mdns.ClientConfig {
	cfg, err := mdns.ClientConfigFromFile(t.ResolvConf)
	if err != nil {
		cfg = &mdns.ClientConfig{Port: "53", Ndots: 1}
	}
	if t.Port != "" {
		cfg.Port = t.Port
	}
	return cfg
}

func serverAddr(cfg *mdns.ClientConfig, server, port string) (string, error) {
	if port == "" {
		port = cfg.Port
	}
	if port == "" {
		port = "53"
	}
	if server == "" {
		if len(cfg.Servers) == 0 {
			return "", errors.New("no nameserver in resolv.conf")
		}
		server = cfg.Servers[0]
	}
	return net.JoinHostPort(server, port), nil
}

func exchange(ctx context.Context, name string, qtype, qclass uint16, addr string, tcp bool) (*mdns.Msg, time.Duration, error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.Question[0].Qclass = qclass
	m.SetEdns0(1232, false)
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
	r, rtt, err := c.ExchangeContext(ctx, m, addr)
	if err == nil && r.Truncated && !tcp {
		c.Net = "tcp"
		r, rtt, err = c.ExchangeContext(ctx, m, addr)
	}
	return r, rtt, err
}

// Dig queries one name and prints the answer like dig.
func (t *Tools) Dig(ctx context.Context, args []string) error {
	o, err := parseDig(args)
	if err != nil {
		return err
	}
	cfg := t.config()
	addr, err := serverAddr(cfg, o.server, o.port)
	if err != nil {
		return fmt.Errorf("dig: %w", err)
	}
	names := []string{mdns.Fqdn(o.name)}
	if o.search {
		names = cfg.NameList(o.name)
	}
	var r *mdns.Msg
	var rtt time.Duration
	for _, n := range names {
		r, rtt, err = exchange(ctx, n, o.qtype, o.qclass, addr, o.tcp)
		if err != nil {
			break
		}
		if r.Rcode != mdns.RcodeNameError {
			break
		}
	}
	if !o.short {
		fmt.Fprintf(t.Out, "\n; <<>> DiG (petset dnsutils) <<>> %s\n;; global options: +cmd\n", strings.Join(args, " "))
	}
	if err != nil {
		fmt.Fprintf(t.Out, ";; communications error to %s: %v\n", addr, err)
		return fmt.Errorf("dig: %w", err)
	}
	if o.short {
		for _, rr := range r.Answer {
			fmt.Fprintln(t.Out, rdata(rr))
		}
		return nil
	}
	fmt.Fprintf(t.Out, ";; Got answer:\n")
	t.printMsg(r)
	host, port, _ := net.SplitHostPort(addr)
	fmt.Fprintf(t.Out, "\n;; Query time: %d msec\n", rtt.Milliseconds())
	proto := "UDP"
	if o.tcp {
		proto = "TCP"
	}
	fmt.Fprintf(t.Out, ";; SERVER: %s#%s(%s) (%s)\n", host, port, host, proto)
	fmt.Fprintf(t.Out, ";; WHEN: %s\n", time.Now().Format("Mon Jan 02 15:04:05 MST 2006"))
	packed, _ := r.Pack()
	fmt.Fprintf(t.Out, ";; MSG SIZE  rcvd: %d\n\n", len(packed))
	return nil
}

func (t *Tools) printMsg(r *mdns.Msg) {
	fmt.Fprintf(t.Out, ";; ->>HEADER<<- opcode: %s, status: %s, id: %d\n", mdns.OpcodeToString[r.Opcode], mdns.RcodeToString[r.Rcode], r.Id)
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{r.Response, "qr"}, {r.Authoritative, "aa"}, {r.Truncated, "tc"}, {r.RecursionDesired, "rd"}, {r.RecursionAvailable, "ra"}, {r.AuthenticatedData, "ad"}, {r.CheckingDisabled, "cd"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	extra := nonOPT(r.Extra)
	fmt.Fprintf(t.Out, ";; flags: %s; QUERY: %d, ANSWER: %d, AUTHORITY: %d, ADDITIONAL: %d\n",
		strings.Join(flags, " "), len(r.Question), len(r.Answer), len(r.Ns), len(extra))
	fmt.Fprintf(t.Out, "\n;; QUESTION SECTION:\n")
	for _, q := range r.Question {
		fmt.Fprintf(t.Out, ";%s\t\t%s\t%s\n", q.Name, mdns.ClassToString[q.Qclass], mdns.TypeToString[q.Qtype])
	}
	for _, sec := range []struct {
		name string
		rrs  []mdns.RR
	}{{"ANSWER", r.Answer}, {"AUTHORITY", r.Ns}, {"ADDITIONAL", extra}} {
		if len(sec.rrs) == 0 {
			continue
		}
		fmt.Fprintf(t.Out, "\n;; %s SECTION:\n", sec.name)
		for _, rr := range sec.rrs {
			fmt.Fprintln(t.Out, rr.String())
		}
	}
}

func nonOPT(rrs []mdns.RR) []mdns.RR {
	var out []mdns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != mdns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// rdata is a record's data as dig +short prints it.
func rdata(rr mdns.RR) string {
	s := rr.String()
	h := rr.Header().String()
	return strings.TrimPrefix(s, h)
}

// lookupAddrs resolves name through the search list, returning the name
// that answered and its A and AAAA records.
func (t *Tools) lookupAddrs(ctx context.Context, cfg *mdns.ClientConfig, addr, name string) (string, []mdns.RR, int, error) {
	rcode := mdns.RcodeNameError
	for _, n := range cfg.NameList(name) {
		var found []mdns.RR
		exists := false
		for _, qt := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
			r, _, err := exchange(ctx, n, qt, mdns.ClassINET, addr, false)
			if err != nil {
				return "", nil, 0, err
			}
			if r.Rcode == mdns.RcodeSuccess {
				exists = true
				found = append(found, r.Answer...)
			} else if r.Rcode != mdns.RcodeNameError {
				rcode = r.Rcode
			}
		}
		if exists {
			return n, found, mdns.RcodeSuccess, nil
		}
	}
	return "", nil, rcode, nil
}

// Nslookup resolves a name (through the search list) or an address, and
// prints the result like BIND's nslookup. Usage: nslookup name [server].
func (t *Tools) Nslookup(ctx context.Context, args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return errors.New("usage: nslookup NAME [SERVER]")
	}
	cfg := t.config()
	server := ""
	if len(args) == 2 {
		server = args[1]
	}
	addr, err := serverAddr(cfg, server, "")
	if err != nil {
		return fmt.Errorf("nslookup: %w", err)
	}
	host, port, _ := net.SplitHostPort(addr)
	fmt.Fprintf(t.Out, "Server:\t\t%s\nAddress:\t%s#%s\n\n", host, host, port)
	if ip := net.ParseIP(args[0]); ip != nil {
		rev, _ := mdns.ReverseAddr(args[0])
		r, _, err := exchange(ctx, rev, mdns.TypePTR, mdns.ClassINET, addr, false)
		if err != nil {
			return fmt.Errorf("nslookup: %w", err)
		}
		if len(r.Answer) == 0 {
			fmt.Fprintf(t.Out, "** server can't find %s: %s\n\n", rev, mdns.RcodeToString[r.Rcode])
			return fmt.Errorf("nslookup: %s: %s", args[0], mdns.RcodeToString[r.Rcode])
		}
		for _, rr := range r.Answer {
			if p, ok := rr.(*mdns.PTR); ok {
				fmt.Fprintf(t.Out, "%s\tname = %s\n", strings.TrimSuffix(rev, "."), p.Ptr)
			}
		}
		fmt.Fprintln(t.Out)
		return nil
	}
	name, rrs, rcode, err := t.lookupAddrs(ctx, cfg, addr, args[0])
	if err != nil {
		fmt.Fprintf(t.Out, ";; connection timed out; no servers could be reached\n")
		return fmt.Errorf("nslookup: %w", err)
	}
	if rcode != mdns.RcodeSuccess {
		fmt.Fprintf(t.Out, "** server can't find %s: %s\n\n", args[0], mdns.RcodeToString[rcode])
		return fmt.Errorf("nslookup: %s: %s", args[0], mdns.RcodeToString[rcode])
	}
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *mdns.A:
			fmt.Fprintf(t.Out, "Name:\t%s\nAddress: %s\n", strings.TrimSuffix(name, "."), v.A)
		case *mdns.AAAA:
			fmt.Fprintf(t.Out, "Name:\t%s\nAddress: %s\n", strings.TrimSuffix(name, "."), v.AAAA)
		case *mdns.CNAME:
			fmt.Fprintf(t.Out, "%s\tcanonical name = %s\n", strings.TrimSuffix(name, "."), v.Target)
		}
	}
	fmt.Fprintln(t.Out)
	return nil
}

// Host resolves a name (through the search list) and prints its addresses
// like BIND's host. Usage: host [-t type] name [server].
func (t *Tools) Host(ctx context.Context, args []string) error {
	qtype := uint16(0)
	if len(args) >= 2 && args[0] == "-t" {
		v, ok := mdns.StringToType[strings.ToUpper(args[1])]
		if !ok {
			return fmt.Errorf("host: invalid type %q", args[1])
		}
		qtype, args = v, args[2:]
	}
	if len(args) == 0 || len(args) > 2 {
		return errors.New("usage: host [-t TYPE] NAME [SERVER]")
	}
	cfg := t.config()
	server := ""
	if len(args) == 2 {
		server = args[1]
	}
	addr, err := serverAddr(cfg, server, "")
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if qtype != 0 {
		for _, n := range cfg.NameList(args[0]) {
			r, _, err := exchange(ctx, n, qtype, mdns.ClassINET, addr, false)
			if err != nil {
				return fmt.Errorf("host: %w", err)
			}
			if r.Rcode == mdns.RcodeNameError {
				continue
			}
			if len(r.Answer) == 0 {
				fmt.Fprintf(t.Out, "%s has no %s record\n", strings.TrimSuffix(n, "."), mdns.TypeToString[qtype])
			}
			for _, rr := range r.Answer {
				switch v := rr.(type) {
				case *mdns.SRV:
					fmt.Fprintf(t.Out, "%s has SRV record %d %d %d %s\n", strings.TrimSuffix(n, "."), v.Priority, v.Weight, v.Port, v.Target)
				default:
					fmt.Fprintf(t.Out, "%s has %s record %s\n", strings.TrimSuffix(n, "."), mdns.TypeToString[rr.Header().Rrtype], strings.TrimSpace(rdata(rr)))
				}
			}
			return nil
		}
		fmt.Fprintf(t.Out, "Host %s not found: 3(NXDOMAIN)\n", args[0])
		return fmt.Errorf("host: %s not found", args[0])
	}
	name, rrs, rcode, err := t.lookupAddrs(ctx, cfg, addr, args[0])
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if rcode != mdns.RcodeSuccess {
		fmt.Fprintf(t.Out, "Host %s not found: %d(%s)\n", args[0], rcode, mdns.RcodeToString[rcode])
		return fmt.Errorf("host: %s not found", args[0])
	}
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *mdns.A:
			fmt.Fprintf(t.Out, "%s has address %s\n", strings.TrimSuffix(name, "."), v.A)
		case *mdns.AAAA:
			fmt.Fprintf(t.Out, "%s has IPv6 address %s\n", strings.TrimSuffix(name, "."), v.AAAA)
		}
	}
	return nil
}
