package probe

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/xvmtools/xvm/vmess/transport"
)

// server is what one run knows and limits about one server (host:port),
// whatever entries and routes name it: the connections it may still
// receive (the budget), how many are open at once (the cap), when the next
// may start (the pace), and whether it answers a TCP connect at all
// (reach), which every entry on it shares.
type server struct {
	key string // host:port, the host in lower case

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

// left is how many connections the budget still allows.
func (s *server) left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.budget - s.used
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
// pool). A job holds it while it works, except while a TCP connect of its
// own is slow: a dead host then costs a goroutine, not a share of the
// concurrency (see connectDialer).
type slot struct {
	sc    *scheduler
	retry bool
	mu    sync.Mutex
	held  bool
}

// acquire takes the slot back unless it is held.
func (s *slot) acquire(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		return nil
	}
	if err := s.sc.take(ctx, s.retry); err != nil {
		return err
	}
	s.held = true
	return nil
}

// release gives the slot back if it is held.
func (s *slot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		s.sc.put(s.retry)
	}
}

// connectDialer is the TCP dialer under transport.Dial for one attempt:
// each connect gets the run's connect timeout, and a connect still pending
// after slow gives the job's slot back (connect takes it again once Dial
// is done, so that the wait for it is in no phase's timing).
type connectDialer struct {
	inner   transport.ContextDialer
	timeout time.Duration
	slow    time.Duration
	slot    *slot
}

func (d *connectDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	t := time.AfterFunc(d.slow, d.slot.release)
	defer t.Stop()
	return d.inner.DialContext(cctx, network, addr)
}
