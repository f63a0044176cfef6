package dns

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"petset/internal/logging"
)

// handler answers one DNS message; it is shared by all listeners and safe
// for concurrent use (the index does its own locking).
type handler struct {
	zone           string // lower case, fully qualified
	ttl            uint32
	ix             *index
	forward        []string
	forwardTimeout time.Duration
	log            *slog.Logger
}

// serve answers r on w. ctx ends forwarding early when the server stops.
func (h *handler) serve(ctx context.Context, w mdns.ResponseWriter, r *mdns.Msg) {
	resp := h.respond(ctx, r, networkOf(w))
	if resp == nil {
		return
	}
	if networkOf(w) == "udp" {
		size := mdns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	if err := w.WriteMsg(resp); err != nil {
		h.log.Debug("write response", logging.ErrKey, err, "client", w.RemoteAddr())
	}
}

func networkOf(w mdns.ResponseWriter) string {
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		return "tcp"
	}
	return "udp"
}

// respond builds the response to r: from the zone, by forwarding, or an
// error code.
func (h *handler) respond(ctx context.Context, r *mdns.Msg, network string) *mdns.Msg {
	m := new(mdns.Msg)
	if r.Opcode != mdns.OpcodeQuery {
		m.SetRcode(r, mdns.RcodeNotImplemented)
		return m
	}
	if len(r.Question) != 1 {
		m.SetRcode(r, mdns.RcodeFormatError)
		return m
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	m.SetReply(r)
	m.RecursionAvailable = len(h.forward) > 0
	m.Compress = true
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(max(opt.UDPSize(), mdns.MinMsgSize), false)
	}

	var za zoneAnswer
	switch {
	case q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY:
		m.SetRcode(r, mdns.RcodeRefused)
		return m
	case mdns.IsSubDomain(h.zone, name):
		za = h.answerZone(query{owner: q.Name, qtype: q.Qtype}, name)
	default:
		ip, isReverse := reverseIP(name)
		var ok bool
		if isReverse {
			za, ok = h.answerReverse(query{owner: q.Name, qtype: q.Qtype}, ip)
		}
		if !ok {
			return h.forwardOrRefuse(ctx, r, m, network)
		}
	}
	m.Authoritative = true
	m.Rcode = za.rcode
	m.Answer = za.answer
	m.Extra = append(za.extra, m.Extra...) // keep the OPT record last
	if len(za.answer) == 0 {
		m.Ns = []mdns.RR{h.soa()}
	}
	return m
}

// forwardOrRefuse sends r to the upstream servers in order and relays the
// first answer; with no upstream configured it answers REFUSED, and when
// every upstream fails it answers SERVFAIL.
func (h *handler) forwardOrRefuse(ctx context.Context, r, m *mdns.Msg, network string) *mdns.Msg {
	if len(h.forward) == 0 {
		m.Rcode = mdns.RcodeRefused
		return m
	}
	c := &mdns.Client{Net: network, Timeout: h.forwardTimeout}
	for _, up := range h.forward {
		fctx, cancel := context.WithTimeout(ctx, h.forwardTimeout)
		resp, _, err := c.ExchangeContext(fctx, r, up)
		cancel()
		if err != nil {
			h.log.Debug("forward failed", "upstream", up, "name", r.Question[0].Name, logging.ErrKey, err)
			continue
		}
		resp.Id = r.Id
		return resp
	}
	m.Rcode = mdns.RcodeServerFailure
	return m
}
