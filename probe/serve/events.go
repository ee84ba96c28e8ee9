package serve

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/xvmtools/xvm/probe"
)

// Event is one line of the /events stream: a probe result (the fields of
// xvm probe's JSON output) with the target's group, labels and the time it
// finished.
type Event struct {
	Time  time.Time `json:"time"`
	Group string    `json:"group"`
	// Transport is the transport label: raw, ws, grpc+tls, ….
	Transport string            `json:"transport"`
	Labels    map[string]string `json:"labels,omitempty"`
	probe.Result
}

// eventLocked is t's last result as an /events line.
func (s *Server) eventLocked(t *target) []byte {
	ev := Event{Time: t.lastAt.UTC(), Group: t.group.Name, Transport: t.transport, Labels: t.group.Settings.Labels, Result: t.last}
	ev.Name = t.name
	b, err := json.Marshal(ev)
	if err != nil {
		return nil // cannot happen: every field marshals
	}
	return append(b, '\n')
}

// maxSubscribers bounds the open /events streams; subscriberBuffer is how
// many events a stream may lag before it loses some.
const (
	maxSubscribers   = 64
	subscriberBuffer = 1024
)

// broker fans events out to the /events streams. A stream that does not
// keep up loses events (counted), never slows the probes.
type broker struct {
	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	dropped uint64
}

func newBroker() *broker { return &broker{subs: map[chan []byte]struct{}{}} }

// subscribe returns a new stream's channel, or nil when there are too many.
func (b *broker) subscribe() chan []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) >= maxSubscribers {
		return nil
	}
	ch := make(chan []byte, subscriberBuffer)
	b.subs[ch] = struct{}{}
	return ch
}

func (b *broker) unsubscribe(ch chan []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, ch)
}

func (b *broker) publish(ev []byte) {
	if ev == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
			b.dropped++
		}
	}
}

// stats are the number of streams and of events they lost.
func (b *broker) stats() (subscribers int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs), b.dropped
}

// handleEvents streams results as newline-delimited JSON: first the latest
// result of every target that has one, then each new result as it comes.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	ch := s.events.subscribe()
	if ch == nil {
		http.Error(w, "too many event streams are open; try again later", http.StatusServiceUnavailable)
		return
	}
	defer s.events.unsubscribe(ch)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	s.mu.Lock()
	var snapshot []byte
	for _, g := range s.groups {
		for _, t := range g.targets {
			if t.has {
				snapshot = append(snapshot, s.eventLocked(t)...)
			}
		}
	}
	s.mu.Unlock()
	write := func(b []byte) bool {
		// Each line has its own deadline, so a client that stopped
		// reading is dropped after limits.stream.
		rc.SetWriteDeadline(time.Now().Add(s.limits.stream))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(snapshot) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopCtx.Done():
			return
		case ev := <-ch:
			if !write(ev) {
				return
			}
		}
	}
}
