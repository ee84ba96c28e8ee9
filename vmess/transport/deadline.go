package transport

import (
	"io"
	"net"
	"os"
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

// streamDeadlines gives a conn wrapper the net.Conn deadline setters
// for a stream whose reads go through a streamReader and whose Writes
// wait on channels of their own (an HTTP/2 request body, an XHTTP
// upload): the deadlines are the wrapper's alone and never reach a
// connection, which on HTTP/2 every stream's frames share.
type streamDeadlines struct {
	read, write deadline
}

// SetDeadline sets both deadlines.
func (d *streamDeadlines) SetDeadline(t time.Time) error {
	d.read.set(t)
	d.write.set(t)
	return nil
}

// SetReadDeadline bounds Reads. A Read that gives up leaves the stream
// as it was.
func (d *streamDeadlines) SetReadDeadline(t time.Time) error {
	d.read.set(t)
	return nil
}

// SetWriteDeadline bounds Writes. One that passes while a Write is
// blocked breaks the stream for good (the blocked bytes may be half
// sent); one that passes between Writes does not.
func (d *streamDeadlines) SetWriteDeadline(t time.Time) error {
	d.write.set(t)
	return nil
}

// stop cancels the deadlines' timers (the conn is closed).
func (d *streamDeadlines) stop() {
	d.read.stop()
	d.write.stop()
}

// connDeadlines is streamDeadlines for a stream that has its connection
// to itself and writes to it directly (a WebSocket): the write deadline
// also applies to the connection, so that a Write blocked there returns.
type connDeadlines struct {
	raw net.Conn
	streamDeadlines
}

// SetDeadline sets both deadlines; see SetReadDeadline and
// SetWriteDeadline.
func (d *connDeadlines) SetDeadline(t time.Time) error {
	d.read.set(t)
	return d.SetWriteDeadline(t)
}

// SetWriteDeadline bounds Writes, including a deferred upgrade. When it
// passes during a Write the stream is broken for good (as a TLS conn's
// is).
func (d *connDeadlines) SetWriteDeadline(t time.Time) error {
	d.write.set(t)
	return d.raw.SetWriteDeadline(t)
}

// streamReader reads a stream's source in a goroutine of its own, so
// that a Read gives up at the stream's read deadline without touching
// the connection underneath: HTTP/2 reads every stream's frames in one
// background goroutine (a deadline on the connection there kills the
// whole session, passed while nobody reads or not), and gorilla's
// WebSocket and net/http's bodies take a timed-out read for a broken
// stream. As with net.Pipe, the deadline is a channel Read waits on
// beside the data; a Read that gives up leaves the read in flight to
// the next. The goroutine reads ahead by at most one buffer.
type streamReader struct {
	src    io.Reader
	chunks chan []byte   // what src gave, in order; closed after err is set
	err    error         // src's error (io.EOF at a clean end)
	quit   chan struct{} // closed by stop
	once   sync.Once
	cur    []byte // the part of the last chunk not yet returned
}

// streamReadSize is the size of each of a streamReader's two buffers.
const streamReadSize = 32 << 10

func newStreamReader(src io.Reader) *streamReader {
	r := &streamReader{src: src, chunks: make(chan []byte), quit: make(chan struct{})}
	go r.run()
	return r
}

// run reads src into two buffers in turn: a buffer is filled again only
// after the other has been handed over, which Read asks for only once it
// has returned all of the first.
func (r *streamReader) run() {
	bufs := [2][]byte{make([]byte, streamReadSize), make([]byte, streamReadSize)}
	for i := 0; ; i ^= 1 {
		n, err := r.src.Read(bufs[i])
		if n > 0 {
			select {
			case r.chunks <- bufs[i][:n]:
			case <-r.quit:
				return
			}
		}
		if err != nil {
			r.err = err
			close(r.chunks)
			return
		}
	}
}

// read returns what src gave next, waiting until some arrives, the
// deadline passes (os.ErrDeadlineExceeded) or closed is closed
// (net.ErrClosed). Callers serialise it.
func (r *streamReader) read(b []byte, d *deadline, closed <-chan struct{}) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(r.cur) == 0 {
		if isClosed(closed) {
			return 0, net.ErrClosed
		}
		if isClosed(d.wait()) {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case c, ok := <-r.chunks:
			if !ok {
				return 0, r.err
			}
			r.cur = c
		case <-d.wait():
			return 0, os.ErrDeadlineExceeded
		case <-closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// stop ends the goroutine once src's read in flight returns (the caller
// closes what src reads from).
func (r *streamReader) stop() {
	r.once.Do(func() { close(r.quit) })
}

// lazyReader is a conn's streamReader, started by the first Read (once
// the source is ready) and stopped at Close; it serialises Reads.
type lazyReader struct {
	mu sync.Mutex
	sr *streamReader
}

// read reads through the streamReader of src (called once, at the first
// read) within deadline d, until closed is closed.
func (l *lazyReader) read(b []byte, src func() io.Reader, d *deadline, closed <-chan struct{}) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sr == nil {
		l.sr = newStreamReader(src())
	}
	return l.sr.read(b, d, closed)
}

// stop ends the reader's goroutine, if one was started (see
// streamReader.stop).
func (l *lazyReader) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sr != nil {
		l.sr.stop()
	}
}
