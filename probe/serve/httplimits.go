package serve

import (
	"net/http"
	"time"
)

// httpLimits bound what one client can make the exporter spend: time to
// send a request, time to take an answer, and how many of the expensive
// answers (the status page and /metrics, megabytes for 1,000 servers)
// are made at once.
type httpLimits struct {
	// readHeader and read bound receiving a request's header and all of
	// it (a body nobody asked for included).
	readHeader, read time.Duration
	// write bounds sending an answer, from when it is ready; /events sets
	// its own per line (stream).
	write, stream time.Duration
	// maxHeaderBytes bounds a request's header: a bearer token or basic
	// credentials fit many times over.
	maxHeaderBytes int
	// renders is how many answers of / and of /metrics (each) are made at
	// once; renderWait is how long a request waits for its turn.
	renders    int
	renderWait time.Duration
}

func defaultHTTPLimits() httpLimits {
	return httpLimits{
		readHeader:     10 * time.Second,
		read:           30 * time.Second,
		write:          30 * time.Second,
		stream:         30 * time.Second,
		maxHeaderBytes: 16 << 10,
		renders:        4,
		renderWait:     10 * time.Second,
	}
}

// httpServer is the HTTP server of Run with these limits.
func (l httpLimits) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    l.maxHeaderBytes,
	}
}

// writeDeadline gives every answer the write limit, counted from when the
// handler starts; a handler that takes longer to make its answer (/probe)
// or streams (/events) sets its own. A client that stops reading then
// costs a handler for that long at most. (http.Server's WriteTimeout
// cannot be used: it would end every /events stream.)
func (s *Server) writeDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		extendWrite(w, s.limits.write)
		next.ServeHTTP(w, r)
	})
}

// extendWrite sets w's write deadline d from now. A ResponseWriter without
// deadlines (a test's recorder) has nothing to bound.
func extendWrite(w http.ResponseWriter, d time.Duration) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// renderSlots bounds the answers one endpoint makes at once: each holds
// a slot until its answer is written (its write deadline bounds that), and
// a request that gets no slot within renderWait is answered 503.
type renderSlots chan struct{}

func (s *Server) bounded(slots renderSlots, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait := time.NewTimer(s.limits.renderWait)
		defer wait.Stop()
		select {
		case slots <- struct{}{}:
		case <-r.Context().Done():
			return
		case <-wait.C:
			w.Header().Set("Retry-After", "5")
			http.Error(w, "busy: too many answers are being sent; try again", http.StatusServiceUnavailable)
			return
		}
		defer func() { <-slots }()
		extendWrite(w, s.limits.write) // the wait is not the client's to pay
		next.ServeHTTP(w, r)
	})
}
