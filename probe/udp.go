package probe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/xvmtools/xvm/vmess"
)

// DefaultDNSServer is the DNS server --udp asks through each server.
const DefaultDNSServer = "1.1.1.1:53"

// UDP is what one DNS query through a server over VMess UDP showed: OK
// when an answer to our query came back (whatever its answer: a name
// that does not exist is an answer too), and RTTMs from the query written
// to the answer read. The first datagram carries the VMess request
// header, so the time includes the server's handshake and its own query
// to the DNS server. Error says why there was no answer.
type UDP struct {
	OK    bool    `json:"ok"`
	RTTMs *Millis `json:"rtt_ms,omitempty"`
	Error string  `json:"error,omitempty"`
	// NotMeasured says why no query was sent.
	NotMeasured NotMeasured `json:"not_measured,omitempty"`
}

// dnsQuery is a recursive query for the A records of name.
func dnsQuery(id uint16, name string) ([]byte, error) {
	n, err := dnsmessage.NewName(strings.TrimSuffix(name, ".") + ".")
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// dnsAnswers reports whether reply answers query id: a response with that
// id whose question is the one asked.
func dnsAnswers(reply []byte, id uint16, name string) error {
	var p dnsmessage.Parser
	h, err := p.Start(reply)
	if err != nil {
		return fmt.Errorf("not a DNS message: %v", err)
	}
	if !h.Response || h.ID != id {
		return errors.New("a DNS message that does not answer our query")
	}
	q, err := p.Question()
	if err != nil || !strings.EqualFold(q.Name.String(), strings.TrimSuffix(name, ".")+".") {
		return errors.New("a DNS answer to another question")
	}
	return nil
}

// checkDNSServer validates a host:port DNS server address.
func checkDNSServer(s string) (host string, port uint16, err error) {
	h, ps, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(ps)
	if err != nil || perr != nil || h == "" || n < 1 || n > 65535 {
		return "", 0, &OptionError{Option: "DNSServer", Value: s, Reason: "want host:port, such as " + DefaultDNSServer}
	}
	return h, uint16(n), nil
}

// udp asks the DNS server, through e's server over VMess UDP, for the A
// records of the URL's host, within one attempt's Timeout.
func (p *prober) udp(ctx context.Context, e *entry, sl *slot) *UDP {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	rtt, err := p.dnsThrough(ctx, e, sl)
	if isBudget(err) {
		return &UDP{NotMeasured: NotMeasuredBudget}
	}
	if err != nil {
		if isTimeout(err) {
			err = fmt.Errorf("no answer from %s within %s: the server does not relay UDP, or the DNS server is unreachable from it", p.opts.DNSServer, p.opts.Timeout)
		}
		return &UDP{Error: err.Error()}
	}
	return &UDP{OK: true, RTTMs: msp(rtt)}
}

func (p *prober) dnsThrough(ctx context.Context, e *entry, sl *slot) (time.Duration, error) {
	name := p.url.Hostname()
	if net.ParseIP(name) != nil {
		name = "www.example.com" // an address is not a name to ask for
	}
	var idb [2]byte
	if _, err := p.random(idb[:]); err != nil {
		return 0, err
	}
	id := uint16(idb[0])<<8 | uint16(idb[1])
	q, err := dnsQuery(id, name)
	if err != nil {
		return 0, err
	}
	raw, done, err := p.connect(ctx, e, sl, e.t.Stream, nil)
	if err != nil {
		return 0, err
	}
	defer done()
	defer raw.Close()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	pc, err := vmess.ClientPacket(raw, e.acct, vmess.Destination{Host: p.dnsHost, Port: p.dnsPort},
		&vmess.Config{Now: p.opts.Now, Rand: p.opts.Rand, ForceLegacy: e.t.ForceLegacy})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := pc.WriteTo(q, nil); err != nil {
		return 0, err
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		// A stray datagram (an old answer) is skipped; ours ends the wait.
		if dnsAnswers(buf[:n], id, name) == nil {
			return time.Since(start), nil
		}
	}
}

// random fills b from the run's random source.
func (p *prober) random(b []byte) (int, error) {
	if p.opts.Rand != nil {
		return io.ReadFull(p.opts.Rand, b)
	}
	return rand.Read(b)
}
