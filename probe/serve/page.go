package serve

import (
	"bytes"
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

// sparkline draws a target's last 24 hours as inline SVG: one unit of
// width per history slot, the mean latency of each slot as a line (broken
// where no probe succeeded), and a red tick under each slot with a failed
// probe. Only numbers go into the markup.
func sparkline(h *history, now time.Time) template.HTML {
	const height, tick = 28.0, 4.0
	var (
		peak      float32
		fails, ok int
	)
	h.window(now, func(_ int, p historyPoint) {
		if good := int(p.n) - int(p.fails); good > 0 {
			peak = max(peak, p.sum/float32(good))
			ok += good
		}
		fails += int(p.fails)
	})
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %d %g" preserveAspectRatio="none" role="img" aria-label="latency, last 24 hours">`, historySlots, height)
	fmt.Fprintf(&b, `<title>last 24 h: %d ok, %d failed; peak %s</title>`, ok, fails, formatMillis(float64(peak)))
	fmt.Fprintf(&b, `<line class="b" x1="0" y1="%g" x2="%d" y2="%g"/>`, height-tick-0.5, historySlots, height-tick-0.5)
	scale := float32(height - tick - 2)
	open := false
	h.window(now, func(i int, p historyPoint) {
		good := int(p.n) - int(p.fails)
		if good <= 0 {
			if open {
				b.WriteString(`"/>`)
				open = false
			}
		} else {
			y := height - tick - 1 - float64(scale*(p.sum/float32(good))/max(peak, 1e-3))
			if !open {
				b.WriteString(`<polyline class="l" points="`)
				open = true
			} else {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d,%.1f %d,%.1f", i, y, i+1, y)
		}
		if p.fails > 0 {
			fmt.Fprintf(&b, `%s<rect class="f" x="%d" y="%g" width="1" height="%g"/>%s`, closeIf(open), i, height-tick, tick, reopenIf(open))
		}
	})
	if open {
		b.WriteString(`"/>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// closeIf and reopenIf let a failure tick be drawn while a polyline's
// points attribute is open: the line is ended and a new one begun.
func closeIf(open bool) string {
	if open {
		return `"/>`
	}
	return ""
}

func reopenIf(open bool) string {
	if open {
		return `<polyline class="l" points="`
	}
	return ""
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
	w.Write(buf.Bytes())
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
