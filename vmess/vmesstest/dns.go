package vmesstest

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSServer is a loopback UDP DNS server that answers every A query with
// the same addresses, and every other query with no records. With no
// addresses at all, every name is answered with no records, which
// resolvers read as "no such host".
type DNSServer struct {
	// Addr is host:port of the server.
	Addr string
	// Answered counts the queries answered.
	Answered atomic.Int64
}

// StartDNS starts a DNSServer on 127.0.0.1 for the test's lifetime.
func StartDNS(tb testing.TB, answers ...[4]byte) *DNSServer {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("vmesstest: dns listen: %v", err)
	}
	tb.Cleanup(func() { pc.Close() })
	s := &DNSServer{Addr: pc.LocalAddr().String()}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if out, ok := dnsAnswer(buf[:n], answers); ok {
				pc.WriteTo(out, from)
				s.Answered.Add(1)
			}
		}
	}()
	return s
}

// dnsAnswer builds the response to one query; ok is false for a datagram
// that is not a query.
func dnsAnswer(query []byte, answers [][4]byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if q.Type == dnsmessage.TypeA {
		for _, a := range answers {
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: a})
		}
	}
	out, err := b.Finish()
	return out, err == nil
}

// Resolver is a resolver that asks only this server.
func (s *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr)
	}}
}
