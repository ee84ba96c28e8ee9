package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
)

// dialTransport dials cfg within 20 s (a hang catcher), failing the test
// on error, and closes the connection when the test ends.
func dialTransport(t testing.TB, cfg *transport.Config) net.Conn {
	t.Helper()
	return dialTraced(t, cfg, nil)
}

// dialTraced is dialTransport reporting to trace.
func dialTraced(t testing.TB, cfg *transport.Config, trace *transport.Trace) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, trace)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wantConfigError dials cfg, which must fail before any I/O (the port is
// set to 9 on loopback, where a dial would be refused), and checks the
// error: phase config, an *UnsupportedError or not, mentioning want.
func wantConfigError(t *testing.T, cfg transport.Config, want string, unsupported bool) {
	t.Helper()
	cfg.Address, cfg.Port = "127.0.0.1", 9
	_, err := transport.Dial(context.Background(), &cfg, nil)
	if te := phaseOf(t, err); te.Phase != transport.PhaseConfig {
		t.Errorf("phase %q, want config: %v", te.Phase, err)
	}
	var ue *transport.UnsupportedError
	if errors.As(err, &ue) != unsupported {
		t.Errorf("an *UnsupportedError: %v, want %v (%v)", !unsupported, unsupported, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
}

// failure is what a failed dial must show: the phase, whether it ran
// out of time (nil: either), and a text the error mentions.
type failure struct {
	phase   transport.Phase
	timeout *bool
	text    string
}

var (
	timedOut = true
	inTime   = false
)

// dialFailure dials cfg within d and returns the error: Dial's, or when
// Dial succeeds, that of a first write and read (servers that answer
// only with data refuse there).
func dialFailure(t *testing.T, cfg *transport.Config, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, nil)
	if err == nil {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(d))
		if _, err = conn.Write(make([]byte, 64)); err == nil {
			_, err = conn.Read(make([]byte, 64))
		}
	}
	if err == nil {
		t.Fatal("no error")
	}
	return err
}

// check tests err against f and logs it.
func (f failure) check(t *testing.T, err error) {
	t.Helper()
	te := phaseOf(t, err)
	if te.Phase != f.phase || (f.timeout != nil && te.Timeout() != *f.timeout) {
		want := "either"
		if f.timeout != nil {
			want = fmt.Sprint(*f.timeout)
		}
		t.Errorf("phase %q (timeout %v), want %q (timeout %s): %v", te.Phase, te.Timeout(), f.phase, want, err)
	}
	if !strings.Contains(err.Error(), f.text) {
		t.Errorf("error %q does not mention %q", err, f.text)
	}
	t.Logf("%v", err)
}

// shortened is all in the default run. Under -short (a quick run while
// iterating) it is the cases keep picks: the interop matrices get
// smaller there, keeping at least one case per transport against the
// real peer, and are never skipped.
func shortened[T any](all []T, keep func(T) bool) []T {
	if !testing.Short() {
		return all
	}
	var out []T
	for _, c := range all {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// testSecurities are the body securities a matrix runs with: all four,
// or aes-128-gcm alone under -short.
func testSecurities() []vmess.Security {
	return shortened(securities, func(s vmess.Security) bool { return s == vmess.SecurityAES128GCM })
}

// shortSize is n in the default run and small under -short.
func shortSize(n, small int) int {
	if testing.Short() {
		return small
	}
	return n
}
