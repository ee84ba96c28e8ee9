package serve

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xvmtools/xvm/probe"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// pageData is what the status page shows.
type pageData struct {
	Now                         time.Time
	Total, OK, Failing, Pending int
	Groups                      []string
	Rows                        []pageRow
	// Refresh is the page's reload period in seconds.
	Refresh int
	// Nonce admits the page's own style and script under its CSP.
	Nonce string
}

// pageRow is one target on the status page. The *Sort fields are the
// sort keys of the page's script.
type pageRow struct {
	Name, Group, Server, Transport string
	Verdict, VerdictClass, Message string
	VerdictRank                    int
	Latency, Offset, Age           string
	LatencySort, OffsetSort        float64
	AgeSort                        float64
	Spark                          template.HTML
}

// snapshotPage copies what the page shows out of the server's state.
func (s *Server) snapshotPage(now time.Time) pageData {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := pageData{Now: now, Refresh: 60}
	for _, g := range s.groups {
		d.Groups = append(d.Groups, g.Name)
		d.Refresh = min(d.Refresh, max(5, int(g.Settings.Interval/time.Second)))
		for _, t := range g.targets {
			d.Total++
			d.Rows = append(d.Rows, rowOf(t, now))
		}
	}
	for _, r := range d.Rows {
		switch r.Verdict {
		case verdictOK:
			d.OK++
		case "pending":
			d.Pending++
		default:
			d.Failing++
		}
	}
	return d
}

// rowOf renders one target's row (under Server.mu).
func rowOf(t *target, now time.Time) pageRow {
	r := pageRow{
		Name: t.name, Group: t.group.Name, Server: t.server, Transport: t.transport,
		Verdict: t.verdict(), Latency: "—", Offset: "—", Age: "—",
		LatencySort: math.MaxFloat64, OffsetSort: -1, AgeSort: math.MaxFloat64,
	}
	switch r.Verdict {
	case "":
		r.Verdict, r.VerdictClass, r.VerdictRank = "pending", "pending", 2
	case verdictOK:
		r.VerdictClass, r.VerdictRank = "ok", 3
	case string(probe.KindClockSkew):
		r.VerdictClass, r.VerdictRank = "clock_skew", 1
	default:
		r.VerdictClass = "bad"
	}
	if t.has {
		if t.last.Error != nil {
			r.Message = t.last.Error.Message
		}
		if t.last.OK && t.last.Latency != nil {
			ms := float64(t.last.Latency.Median)
			r.Latency, r.LatencySort = formatMillis(ms), ms
		}
		age := now.Sub(t.lastAt)
		r.Age, r.AgeSort = formatAge(age), age.Seconds()
	}
	if t.hasOffset {
		off := t.offset
		if math.Abs(off) < 0.05 {
			off = 0 // no "-0.0"
		}
		r.Offset = fmt.Sprintf("%+.1f s", off)
		if t.uncertainty >= 0.05 {
			r.Offset += fmt.Sprintf(" ±%.1f", t.uncertainty)
		}
		r.OffsetSort = math.Abs(t.offset)
	}
	r.Spark = sparkline(&t.history, now)
	return r
}

func formatMillis(ms float64) string {
	if ms >= 1000 {
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
}

// sparkPoints is how many points a sparkline has: 24 h in 15-minute steps
// (three history slots each), which keeps a page of 1,000 servers small.
const sparkPoints = historySlots / 3

// sparkline draws a target's last 24 hours as inline SVG: the mean latency
// of each 15-minute step as a line (broken where no probe succeeded), and a
// red tick under each step with a failed probe. Only numbers go into the
// markup.
func sparkline(h *history, now time.Time) template.HTML {
	const (
		height = 30 // viewBox units; the line uses 0–24, ticks 26–30
		lineH  = 24
	)
	var steps [sparkPoints]historyPoint
	h.window(now, func(i int, p historyPoint) {
		st := &steps[i/3]
		st.n += p.n
		st.fails += p.fails
		st.sum += p.sum
	})
	var (
		peak      float32
		fails, ok int
	)
	for _, st := range steps {
		if good := int(st.n) - int(st.fails); good > 0 {
			peak = max(peak, st.sum/float32(good))
			ok += good
		}
		fails += int(st.fails)
	}
	b := make([]byte, 0, 1024)
	b = fmt.Appendf(b, `<svg class="spark" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="latency, last 24 hours"><title>last 24 h: %d ok, %d failed; peak %s</title><path class="b" d="M0 25.5H%d"/>`,
		sparkPoints, height, ok, fails, formatMillis(float64(peak)), sparkPoints)
	line := []byte(`<path class="l" d="`)
	ticks := []byte(`<path class="f" d="`)
	pen := false
	for i, st := range steps {
		good := int(st.n) - int(st.fails)
		if good > 0 {
			y := lineH - int(math.Round(float64(st.sum/float32(good)/max(peak, 1e-3))*(lineH-1)))
			if pen {
				line = append(line, 'L')
			} else {
				line = append(line, 'M')
			}
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, ' ')
			line = strconv.AppendInt(line, int64(y), 10)
			// A step alone still shows as a short dash.
			line = append(line, 'h', '1')
			pen = true
		} else {
			pen = false
		}
		if st.fails > 0 {
			ticks = append(ticks, 'M')
			ticks = strconv.AppendInt(ticks, int64(i), 10)
			ticks = append(ticks, " 26h1v4h-1z"...)
		}
	}
	b = append(b, line...)
	b = append(b, `"/>`...)
	if fails > 0 {
		b = append(b, ticks...)
		b = append(b, `"/>`...)
	}
	b = append(b, `</svg>`...)
	return template.HTML(b)
}

// handlePage serves the status page: one self-contained document (inline
// style, script and SVG; nothing loaded from elsewhere, which its
// Content-Security-Policy enforces).
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	d := s.snapshotPage(s.clock.Now())
	var nonce [16]byte
	rand.Read(nonce[:])
	d.Nonce = base64.RawStdEncoding.EncodeToString(nonce[:])
	var buf bytes.Buffer
	if err := renderPage(&buf, d); err != nil {
		s.log.Error("status page", "err", err)
		http.Error(w, "the status page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+d.Nonce+"'; script-src 'nonce-"+d.Nonce+"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Vary", "Accept-Encoding")
	if !acceptsGzip(r) {
		w.Write(buf.Bytes())
		return
	}
	// A page of 1,000 servers is about 2 MB of markup and SVG that
	// compresses tenfold: worth it on a phone.
	h.Set("Content-Encoding", "gzip")
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	zw.Write(buf.Bytes())
	zw.Close()
}

// acceptsGzip reports whether the client takes a gzip body (listed in
// Accept-Encoding, and not with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// renderPage writes the page. Rows come sorted by group and name; the
// page's script then sorts them as the reader asks.
func renderPage(w io.Writer, d pageData) error {
	slices.SortStableFunc(d.Rows, func(a, b pageRow) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return statusTemplate.Execute(w, d)
}
