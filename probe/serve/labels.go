package serve

import (
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/schema/safetext"
	"github.com/xvmtools/xvm/vmess/transport"
)

// Label values come from share links and subscriptions, which anyone can
// write: a name may hold bytes that are not UTF-8, terminal escapes or line
// breaks. Prometheus refuses a whole scrape over one label value that is
// not UTF-8, and serve builds the per-target series itself (past the
// registry's checks), so every value is made safe once, when the targets
// are loaded: labelValue.

// seriesIdentity are the name, server and transport labels of a target,
// made safe (labelValue): the same for a configured target at load and for
// a link probed through /probe.
func seriesIdentity(t *probe.Target) (name, server, transport string) {
	server = labelValue(net.JoinHostPort(t.Stream.Address, strconv.Itoa(int(t.Stream.Port))))
	name = labelValue(t.Name)
	if name == "" {
		name = server
	}
	return name, server, labelValue(transportOf(t))
}

// labelValue is s as a label value: valid UTF-8 with control characters
// shown as visible escapes (safetext.Escape, as every output of xvm shows
// text from its input: a byte that is not UTF-8 as \xff, a line break as
// \n, ESC as \x1b), cut to MaxLabelValueLen bytes. Names that differ in
// such bytes still differ.
func labelValue(s string) string { return truncateLabel(safetext.Escape(s)) }

// transportOf is "raw", "ws", "grpc+tls", …: the transport in the
// dialer's reading of the project's one vocabulary (transport.NetworkName:
// Xray's aliases tcp and websocket read raw and ws) and "+tls" when TLS wraps it. It is known
// before the first result, so a target's labels never change.
func transportOf(t *probe.Target) string {
	n := transport.NetworkName(t.Stream.Network)
	if strings.EqualFold(t.Stream.Security, "tls") {
		n += "+tls"
	}
	return n
}

// truncateLabel cuts s to at most MaxLabelValueLen bytes on a rune
// boundary.
func truncateLabel(s string) string { return cutUTF8(s, MaxLabelValueLen) }

// cutUTF8 cuts s to at most n bytes on a rune boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// dedupeNames makes the targets' label sets unique within a group: two
// users on one server with one transport and the same (or no) name would
// otherwise be one series. The first keeps its name; each later one gets
// " #2", " #3", …, the lowest number that makes a name no target of the
// group has (so names A, A, "A #2" become A, "A #3", "A #2"). The name is
// cut before the suffix is added, so the suffix survives the length limit.
func dedupeNames(ts []*target) {
	type series [3]string
	taken := make(map[series]bool, len(ts))
	for _, t := range ts {
		taken[series{t.name, t.server, t.transport}] = true
	}
	kept := make(map[series]bool, len(ts))
	next := map[series]int{} // the next number to try, per duplicated name
	for _, t := range ts {
		k := series{t.name, t.server, t.transport}
		if !kept[k] {
			kept[k] = true
			continue
		}
		n := max(next[k], 2)
		for ; ; n++ {
			suffix := " #" + strconv.Itoa(n)
			name := cutUTF8(t.name, MaxLabelValueLen-len(suffix)) + suffix
			if nk := (series{name, t.server, t.transport}); !taken[nk] {
				taken[nk], kept[nk] = true, true
				t.name = name
				break
			}
		}
		next[k] = n + 1
	}
}
