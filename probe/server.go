package probe

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xvmtools/xvm/vmess/transport"
)

// server is what one run knows and limits about one server (host:port),
// whatever entries and routes name it: the connections it may still
// receive (the budget), how many are open at once (the cap), when the next
// may start (the pace), and whether it answers a TCP connect at all
// (reach), which every entry on it shares.
type server struct {
	key string // serverKey: host:port, the host normalised

	budget  int
	spacing time.Duration
	open    chan struct{} // a token per open connection: the cap
	changed func(*server) // tells the scheduler that reach changed

	mu    sync.Mutex
	used  int       // connections opened or tried
	next  time.Time // earliest start of the next connection
	reach reach
	fail  error // the attempt error that made reach final or dead

	// Scheduling state, guarded by the scheduler's mutex.
	queue      []*job
	running    int // jobs running, retries included
	screens    int // screen jobs queued or running
	diagnosing bool
	listed     bool
}

// reach is whether a server answers a TCP connect.
type reach int

const (
	reachUnknown reach = iota // no connect has finished yet
	reachUp                   // a connect succeeded
	reachRefused              // refused or unreachable
	reachNoName               // the name does not resolve
	reachDead                 // a connect timed out; the retry at the end decides
	reachGone                 // a connect timed out on the retry too
)

// errBudget ends an attempt that the server's connection budget does not
// allow.
var errBudget = errors.New("probe: the connection budget for this server is spent")

// take counts one connection against the budget; false when it is spent.
func (s *server) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used >= s.budget {
		return false
	}
	s.used++
	return true
}

// pace waits until the next connection to this server may start: at least
// spacing after the previous one, across every entry and job of the run.
func (s *server) pace(ctx context.Context) error {
	s.mu.Lock()
	start := time.Now()
	if s.next.After(start) {
		start = s.next
	}
	s.next = start.Add(s.spacing)
	s.mu.Unlock()
	wait := time.Until(start)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reached reports the server's reach and the error that decided it.
func (s *server) reached() (reach, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reach, s.fail
}

// setReach moves reach on after a connect's outcome and tells the
// scheduler. Up is final once seen; a refusal or an unknown name decides
// only an unknown server; a timeout makes an unknown server dead until the
// retry, whose own timeout makes it gone.
func (s *server) setReach(to reach, err error) {
	s.mu.Lock()
	from := s.reach
	switch {
	case from == reachUp:
	case to == reachUp:
		s.reach, s.fail = reachUp, nil
	case from == reachUnknown:
		s.reach, s.fail = to, err
	case from == reachDead && to == reachGone:
		s.reach = reachGone // the error that made it dead stays
	}
	changed := s.reach != from
	s.mu.Unlock()
	if changed && s.changed != nil {
		s.changed(s)
	}
}

// noteDial records what a transport.Dial error says about reach; retry
// tells whether this was the retry at the end of the run. A lookup that
// timed out counts as a dead host: every entry on the server shares its
// name, so they wait for the retry instead of each timing out.
func (s *server) noteDial(err error, retry bool) {
	var te *transport.Error
	if !errors.As(err, &te) || errors.Is(err, errBudget) {
		return
	}
	dnsOrConnect := te.Phase == transport.PhaseDNS || te.Phase == transport.PhaseConnect
	switch {
	case te.Phase == transport.PhaseDNS && !te.Timeout():
		s.setReach(reachNoName, err)
	case dnsOrConnect && te.Timeout() && retry:
		s.setReach(reachGone, err)
	case dnsOrConnect && te.Timeout():
		s.setReach(reachDead, err)
	case te.Phase == transport.PhaseConnect:
		s.setReach(reachRefused, err)
	}
}

// retried settles a server whose retry at the end of the run ended
// without a connect that decided its reach: one still dead is gone, with
// the error that made it dead. Any other reach stays as it is.
func (s *server) retried() {
	s.mu.Lock()
	dead := s.reach == reachDead
	if dead {
		s.reach = reachGone
	}
	s.mu.Unlock()
	if dead && s.changed != nil {
		s.changed(s)
	}
}

// slot is one job's share of the run's concurrency (or of the retries'
// pool). A job holds it while it works. Its attempts may run in parallel
// (a diagnosis's handshakes share the job's slot), and the slot is given
// back only while every attempt in flight waits on a slow TCP connect: a
// dead host then costs a goroutine, not a share of the concurrency (see
// connectDialer). An attempt that goes on takes it back first.
type slot struct {
	sc    *scheduler
	retry bool

	mu   sync.Mutex
	held bool
	// attempts counts the attempts in flight (connect to close), parked
	// those of them waiting on a slow connect.
	attempts, parked int
	// taking is closed when a pending take ends; nil when none is.
	taking chan struct{}
}

// count counts an attempt in flight; it needs the slot (hold) before it
// does anything but wait.
func (s *slot) count() {
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
}

// end counts an attempt that is over.
func (s *slot) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts--
	s.giveBack()
}

// park counts an attempt whose connect is slow, and gives the slot back
// when every attempt in flight is parked.
func (s *slot) park() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parked++
	s.giveBack()
}

// unpark counts a parked attempt whose connect is over; it takes the slot
// back with hold before it goes on.
func (s *slot) unpark() {
	s.mu.Lock()
	s.parked--
	s.mu.Unlock()
}

// giveBack puts the slot back when it is held and every attempt in flight
// is parked. The caller holds s.mu.
func (s *slot) giveBack() {
	if s.held && s.attempts > 0 && s.parked == s.attempts {
		s.held = false
		s.sc.put(s.retry)
	}
}

// hold takes the slot back unless it is held. One take is pending at a
// time; other attempts of the job wait for it.
func (s *slot) hold(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.held {
			s.mu.Unlock()
			return nil
		}
		if w := s.taking; w != nil {
			s.mu.Unlock()
			select {
			case <-w:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		w := make(chan struct{})
		s.taking = w
		s.mu.Unlock()
		err := s.sc.take(ctx, s.retry)
		s.mu.Lock()
		s.taking = nil
		close(w)
		if err == nil {
			s.held = true
		}
		s.mu.Unlock()
		return err
	}
}

// release gives the slot back for good: the job is done.
func (s *slot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		s.sc.put(s.retry)
	}
}

// connectDialer is the TCP (or, for mKCP, UDP) dialer under
// transport.Dial for one attempt. Every dial is a connection the server
// receives: connect charges the budget and paces the first, and the
// dialer each one after it (a TLS ClientHello tried again on a fresh
// connection, the next address of a name, XHTTP's further connections).
// Each dial gets the run's connect timeout, and one still pending after
// slow parks the attempt (see slot), which takes the slot back once the
// dial has connected: connect does that after transport.Dial returns, so
// that the wait is in no phase's timing, and the dialer itself for a dial
// after that. A failed dial ends its attempt without waiting for a slot.
type connectDialer struct {
	inner   transport.ContextDialer
	srv     *server
	timeout time.Duration
	slow    time.Duration
	slot    *slot

	dials  atomic.Int32
	inDial atomic.Bool // connect's transport.Dial is under way
}

func (d *connectDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.dials.Add(1) > 1 {
		if !d.srv.take() {
			return nil, errBudget
		}
		if err := d.srv.pace(ctx); err != nil {
			return nil, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var (
		mu             sync.Mutex
		parked, landed bool
	)
	t := time.AfterFunc(d.slow, func() {
		mu.Lock()
		defer mu.Unlock()
		if !landed {
			parked = true
			d.slot.park()
		}
	})
	conn, err := d.inner.DialContext(cctx, network, addr)
	mu.Lock()
	landed = true
	mu.Unlock()
	t.Stop()
	if !parked {
		return conn, err
	}
	d.slot.unpark()
	if err == nil && !d.inDial.Load() {
		if err := d.slot.hold(ctx); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, err
}
