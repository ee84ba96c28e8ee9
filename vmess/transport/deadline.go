package transport

import (
	"net"
	"sync"
	"time"
)

// deadline is one direction's deadline of a conn wrapper that has waits of
// its own besides I/O on the underlying conn (a WebSocket upgrade deferred
// for early data, a gRPC write blocked by HTTP/2 flow control). Like
// net.Pipe's, it is a channel that is closed while the deadline has
// passed, so a wait can select on it and still see a deadline that is
// moved while it waits.
type deadline struct {
	mu      sync.Mutex
	t       time.Time
	timer   *time.Timer
	expired chan struct{} // closed while t has passed; nil until first used
	// onExpire, when set, runs each time the deadline passes (in the
	// timer's goroutine, or in set when t is already past).
	onExpire func()
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.expired // the timer fired: wait until it closed the channel
	}
	d.timer = nil
	d.t = t
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	closed := isClosed(d.expired)
	if t.IsZero() {
		if closed {
			d.expired = make(chan struct{})
		}
		d.mu.Unlock()
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.expired = make(chan struct{})
		}
		ch, f := d.expired, d.onExpire
		d.timer = time.AfterFunc(dur, func() {
			close(ch)
			if f != nil {
				f()
			}
		})
		d.mu.Unlock()
		return
	}
	if !closed {
		close(d.expired)
	}
	f := d.onExpire
	d.mu.Unlock()
	if f != nil {
		f()
	}
}

// get returns the deadline (zero: none).
func (d *deadline) get() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.t
}

// wait returns a channel that is closed once the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	return d.expired
}

// stop cancels a pending timer (the conn is closed).
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// connDeadlines gives a conn wrapper the net.Conn deadline setters: each
// deadline is kept (for the wrapper's own waits and error mapping) and
// applied to the underlying conn, which carries only this stream.
type connDeadlines struct {
	raw         net.Conn
	read, write deadline
}

// SetDeadline sets both deadlines; see SetReadDeadline and
// SetWriteDeadline.
func (d *connDeadlines) SetDeadline(t time.Time) error {
	d.read.set(t)
	d.write.set(t)
	return d.raw.SetDeadline(t)
}

// SetReadDeadline bounds Reads, including a wait for a deferred upgrade.
// It applies to the underlying connection too: when it passes during a
// read of the connection itself, the stream is broken for good.
func (d *connDeadlines) SetReadDeadline(t time.Time) error {
	d.read.set(t)
	return d.raw.SetReadDeadline(t)
}

// SetWriteDeadline bounds Writes, including a deferred upgrade and a Write
// blocked by HTTP/2 flow control. When it passes during a Write the stream
// is broken for good.
func (d *connDeadlines) SetWriteDeadline(t time.Time) error {
	d.write.set(t)
	return d.raw.SetWriteDeadline(t)
}

// stop cancels pending timers.
func (d *connDeadlines) stop() {
	d.read.stop()
	d.write.stop()
}
