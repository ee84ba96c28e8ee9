package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	xconf "github.com/xtls/xray-core/infra/conf"
	"github.com/xtls/xray-core/infra/conf/serial"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/lint"
)

// The real-world corpus: public links, subscriptions and configs from
// public repositories (testdata/real/SOURCES.md names each file's
// repository, commit and path). Xray-core's own loader is the judge:
// every Xray outbound convert writes must build in it and lint clean in
// xvm lint; every config outbound Xray builds, convert must read, and the
// other way round. What convert refuses or where it and Xray part ways is
// listed here, entry by entry, with the reason; an entry that behaves
// otherwise (or a listed one that no longer occurs) fails the test.

// realRefusal is an input entry convert refuses, and why that is right.
type realRefusal struct {
	field  string // the field the error names
	reason string // why refusing is right (Xray agrees, or why xvm is stricter)
}

// Reasons shared by several entries.
const (
	glued    = "an emoji or text glued after the base64 body with no separator; v2rayN's Base64Decode (Convert.FromBase64String) refuses it too"
	ellipsis = "cut short with … where a Telegram post was copied: the JSON inside is incomplete"
	pageCut  = "the last link of a copied page, cut off by the page boundary"

	legacyKeys = "\"outbound\"/\"outboundDetour\" (V2Ray before v4): Xray reads no outbound from them, convert reads them with a warning"
)

// realRefusals are keyed "file:line" (file relative to testdata/real).
var realRefusals = map[string]realRefusal{
	// Xray-examples templates leave the address and id for the reader to
	// fill in; Xray refuses them too (an empty id is not a UUID).
	"configs/xtls-examples-VMess-HTTP.jsonc:outbounds[0]":                    {"address", "template with an empty address and id; Xray: empty id is not a UUID"},
	"configs/xtls-examples-VMess-HTTP2.jsonc:outbounds[0]":                   {"address", "template with an empty address and id; Xray: empty id is not a UUID"},
	"configs/xtls-examples-VMess-Websocket-TLS.jsonc:outbounds[0]":           {"address", "template with an empty address and id; Xray: empty id is not a UUID"},
	"configs/xtls-examples-VMess-TCP.jsonc:outbounds[0]":                     {"address", "template with an empty address and id; Xray: empty id is not a UUID"},
	"configs/xtls-examples-VMess-TCP-TLS.jsonc:outbounds[0]":                 {"address", "template with an empty address and id; Xray: empty id is not a UUID"},
	"configs/xtls-examples-VMess-Websocket.jsonc:outbounds[0]":               {"address", "template with an empty address and id; Xray: empty id is not a UUID"},
	"configs/xtls-examples-ReverseProxy-Vmess-TCP-bridge.jsonc:outbounds[0]": {"address", "template: address \"{{ protal.address }}\" holds spaces and braces, no host name can; Xray's loader takes it (see realDisagreements)"},
	"configs/xtls-examples-VMess-mKCPSeed.jsonc:outbounds[0]":                {"address", "template: address \"{{ host }}\" and an empty id; Xray refuses the id"},
	// sing-box's interop tests fill the id in at run time.
	"configs/sing-box-test-vmess-grpc-client.json:outbounds[0]": {"id", "test template with an empty id (network \"gun\", client certificates); Xray: empty id is not a UUID"},
	"configs/sing-box-test-vmess-ws-client.json:outbounds[0]":   {"id", "test template with an empty id (ws maxEarlyData 2048); Xray: empty id is not a UUID"},

	// Link lists: collectors' placeholders, Telegram copies, page cuts.
	"links/epodonios-vmess-page2.txt:45":       {"id", "the aggregator's \"LATEST-UPDATE\" placeholder: id abbacac-aacb-… is neither a UUID nor a name of at most 30 bytes; Xray refuses it too"},
	"links/mheidari98-vmess-base64.txt:10":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:11":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:14":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:16":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:18":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:20":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:22":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:23":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:24":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:25":     {"base64", glued},
	"links/mheidari98-vmess-base64.txt:13":     {"base64", ellipsis},
	"links/mheidari98-vmess-base64.txt:15":     {"base64", ellipsis},
	"links/mheidari98-vmess-base64.txt:17":     {"base64", ellipsis},
	"links/mheidari98-vmess-base64.txt:19":     {"base64", ellipsis},
	"links/mheidari98-vmess-base64.txt:21":     {"base64", ellipsis},
	"links/mheidari98-vmess-base64.txt:40":     {"base64", pageCut},
	"links/10ium-vmess-base64.txt:238":         {"json", pageCut},
	"links/rysf13-vmess.txt:4":                 {"port", "the provider's notice entry (address \"1\", port 0, the remark asks to update the subscription); Xray's loader builds port 0, but no connection can be made to it, so xvm is stricter here"},
	"links/epodonios-vmess-page2.txt:116":      {"id", "another collector's placeholder (address 127.0.0.1, id bacacba-baac-…): not a UUID and over 30 bytes; Xray refuses it too"},
	"links/epodonios-vmess-page2.txt:117":      {"add", "the address is a URL (https://github.com/…, id \"Free\"), an advertisement, not a server: Xray's loader takes it as a domain name and fails only when traffic flows; refused, as issue 12 asks"},
	"links/soroushmirzaei-vmess-base64.txt:1":  {"id", "the collector's \"latest update\" header entry (address 127.0.0.1, id bccbaaa-caba-…, 35 bytes): not a UUID and over 30 bytes; Xray refuses it too"},
	"links/soroushmirzaei-vmess-base64.txt:76": {"id", "the collector's \"developed by\" footer entry (address 127.0.0.1, id caaabcb-cbaa-…, 35 bytes): not a UUID and over 30 bytes; Xray refuses it too"},
	"links/epodonios-vmess.txt:32":             {"add", "a link holding only a remark (ps): no address, port or id"},
	"singbox/box-for-magisk-readme.json:13":    {"uuid", "placeholder uuid with g and h in it; sing-box and Xray refuse it"},
}

// realDisagreements are config outbounds where Xray's loader and convert
// reach different verdicts, keyed "file:outbounds[i]", or "file:outbounds"
// for a config Xray reads no vmess outbound from while convert reads some.
var realDisagreements = map[string]string{
	// Xray's loader takes any string as a domain and a 1-30 byte id as a
	// name (mapped to a UUID), so it builds this template; the dial would
	// fail on the host name. convert refuses the address up front.
	"configs/xtls-examples-ReverseProxy-Vmess-TCP-bridge.jsonc:outbounds[0]": "template address \"{{ protal.address }}\": Xray builds it, convert refuses it (no host name holds spaces or braces)",
	// V2Ray configs from before v4 hold their outbounds under "outbound"
	// and "outboundDetour"; Xray reads only "outbounds" and sees none.
	"configs/v2fly-examples-HTTP2.json:outbounds":   legacyKeys,
	"configs/v2fly-examples-TCP+TLS.json:outbounds": legacyKeys,
	// The example predates Xray v26: the HTTP/2 transport ("network":
	// "http") is now a load error. convert writes it as XHTTP stream-one
	// with a warning, and that output builds.
	"configs/xtls-examples-VMESS-H2-TLS.jsonc:outbounds[0]": "network \"http\" (HTTP/2): Xray v26 refuses the removed transport, convert migrates it to XHTTP stream-one with a warning",
}

// realCounts is what the corpus holds, so that a change in any count is
// seen: server entries of the link lists (base64 subscriptions decoded),
// distinct vmess:// links among them, config outbounds, nodes, refused
// entries, notes (other protocols skipped, values Xray ignores), Xray
// outputs built, and nodes whose outbound survives a round trip through
// both link forms.
type realCounts struct {
	Files, Links, DistinctVMess, ConfigOutbounds, Nodes, Refused, Skipped, Built, RoundTrips int
}

var realWant = realCounts{Files: 44, Links: 1074, DistinctVMess: 1023, ConfigOutbounds: 14, Nodes: 1161, Refused: 35, Skipped: 56, Built: 1161, RoundTrips: 911}

func TestRealWorldCorpus(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "real")
	var files []string
	for _, dir := range []string{"links", "clash", "singbox", "configs"} {
		m, err := filepath.Glob(filepath.Join(root, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	l, err := lint.New(lint.Options{Now: func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	var got realCounts
	distinct := map[string]bool{}
	seenRefusals := map[string]bool{}
	seenDisagreements := map[string]bool{}
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got.Files++
		if strings.HasPrefix(rel, "links/") {
			got.Links += countLinks(data, distinct)
		}
		res, err := convert.Parse(context.Background(), rel, data, convert.Options{})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		got.Nodes += len(res.Nodes)
		for _, d := range res.Diagnostics {
			switch d.Severity {
			case convert.Info:
				got.Skipped++
			case convert.Error:
				got.Refused++
				key := fmt.Sprintf("%s:%d", rel, d.Line)
				if strings.HasPrefix(rel, "configs/") {
					key = rel + ":" + strings.SplitN(d.Field, ".", 2)[0]
				}
				seenRefusals[key] = true
				want, ok := realRefusals[key]
				if !ok {
					t.Errorf("%s: refused and not listed: %s", key, d)
				} else if !strings.Contains(d.Field, want.field) {
					t.Errorf("%s: refused on %q; listed as refused on %q: %s", key, d.Field, want.field, d)
				}
			}
		}
		if strings.HasPrefix(rel, "configs/") {
			got.ConfigOutbounds += judgeConfig(t, rel, data, res, seenDisagreements)
		}
		for _, n := range res.Nodes {
			out, diags, err := convert.Emit([]*convert.Node{n}, convert.ToXrayJSON, convert.EmitOptions{})
			if err != nil {
				t.Fatalf("%s:%d: %v", rel, n.Origin.Line, err)
			}
			if hasError(diags) {
				t.Errorf("%s:%d: not written as Xray: %v", rel, n.Origin.Line, diags)
				continue
			}
			var outs []xconf.OutboundDetourConfig
			if err := json.Unmarshal(out, &outs); err != nil || len(outs) != 1 {
				t.Fatalf("%s:%d: Xray cannot read the output: %v\n%s", rel, n.Origin.Line, err, out)
			}
			if _, err := outs[0].Build(); err != nil {
				t.Errorf("%s:%d: Xray refuses the output: %v\n%s", rel, n.Origin.Line, err, out)
				continue
			}
			got.Built++
			ds, err := l.LintBytes(context.Background(), rel+".out.json", out)
			if err != nil {
				t.Fatal(err)
			}
			if lint.Fails(ds, lint.Error) {
				t.Errorf("%s:%d: the output does not lint clean: %v\n%s", rel, n.Origin.Line, ds, out)
			}
			if roundTrips(t, rel, n, out) {
				got.RoundTrips++
			}
		}
	}
	for k := range realRefusals {
		if !seenRefusals[k] {
			t.Errorf("%s: listed as refused, but convert read it", k)
		}
	}
	for k := range realDisagreements {
		if !seenDisagreements[k] {
			t.Errorf("%s: listed as a disagreement with Xray, but they agree", k)
		}
	}
	got.DistinctVMess = len(distinct)
	t.Logf("corpus: %+v", got)
	if got != realWant {
		t.Errorf("corpus counts %+v; want %+v", got, realWant)
	}
}

// countLinks counts the server entries of a link list: lines that start
// with a scheme (each link of a glued line counted), and client-profile
// server lines of any protocol. A whole-file base64 subscription is
// decoded first. Each vmess:// link is added to distinct.
func countLinks(data []byte, distinct map[string]bool) int {
	if dec, ok := decodeSubscription(data); ok {
		data = dec
	}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case linkStart.MatchString(l):
			seams := gluedSeam.FindAllStringIndex(l, -1)
			n += len(seams)
			for i, s := range seams {
				end := len(l)
				if i+1 < len(seams) {
					end = seams[i+1][0]
				}
				if link := l[s[0]:end]; strings.HasPrefix(link, "vmess://") {
					distinct[link] = true
				}
			}
		case serverLine.MatchString(l):
			n++
		}
	}
	return n
}

// decodeSubscription decodes a file that is one base64 text (wrapped or
// not), as subscription servers send; ok is false for anything else.
func decodeSubscription(data []byte) ([]byte, bool) {
	t := strings.Join(strings.Fields(string(data)), "")
	if t == "" || strings.Contains(t, "://") {
		return nil, false
	}
	dec, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		dec, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(t, "="))
	}
	return dec, err == nil
}

var (
	linkStart  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)
	gluedSeam  = regexp.MustCompile(`(vmess|vless|trojan|ss|ssr|hysteria2|hy2|tuic)://`)
	serverLine = regexp.MustCompile(`^(vmess|vless|trojan|shadowsocks|http|socks5)=|^[^=,]+=\s*vmess\s*,`)
)

func hasError(ds []convert.Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == convert.Error {
			return true
		}
	}
	return false
}

// judgeConfig loads a config with Xray's own loader and compares, outbound
// by outbound, what Xray builds with what convert read. It returns the
// number of VMess outbounds.
func judgeConfig(t *testing.T, rel string, data []byte, res convert.Result, seen map[string]bool) int {
	t.Helper()
	c, err := serial.DecodeJSONConfig(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: Xray cannot decode it: %v", rel, err)
		return 0
	}
	refused := map[string]string{}
	for _, d := range res.Diagnostics {
		if d.Severity == convert.Error {
			refused[strings.SplitN(d.Field, ".", 2)[0]] = d.String()
		}
	}
	n := 0
	for i := range c.OutboundConfigs {
		oc := &c.OutboundConfigs[i]
		if !strings.EqualFold(oc.Protocol, "vmess") {
			continue
		}
		n++
		entry := fmt.Sprintf("outbounds[%d]", i)
		_, xerr := oc.Build()
		why, xvmRefused := refused[entry]
		if (xerr != nil) == xvmRefused {
			continue // they agree
		}
		key := rel + ":" + entry
		seen[key] = true
		if _, ok := realDisagreements[key]; !ok {
			t.Errorf("%s: Xray and convert disagree and it is not listed: Xray: %v; convert: %s", key, xerr, why)
		}
	}
	if n == 0 && len(res.Nodes) > 0 {
		// Xray sees no vmess outbound where convert read some (V2Ray's
		// pre-v4 "outbound"/"outboundDetour" keys).
		key := rel + ":outbounds"
		seen[key] = true
		if _, ok := realDisagreements[key]; !ok {
			t.Errorf("%s: Xray reads no vmess outbound, convert read %d; not listed", key, len(res.Nodes))
		}
	}
	return n
}

// roundTrips writes the node as a #716 link and as a v2rayN link, reads
// each back, and checks that the Xray outbound is the same whenever the
// link writer reported nothing lost.
func roundTrips(t *testing.T, rel string, n *convert.Node, want []byte) bool {
	t.Helper()
	ok := true
	for _, target := range []convert.OutputFormat{convert.ToURILink, convert.ToV2RayNLink} {
		link, diags, err := convert.Emit([]*convert.Node{n}, target, convert.EmitOptions{})
		if err != nil || len(diags) > 0 {
			ok = false
			continue
		}
		back, err := convert.Parse(context.Background(), "back", link, convert.Options{})
		if err != nil || len(back.Nodes) != 1 {
			t.Errorf("%s:%d: the %s link does not read back: %v %v\n%s", rel, n.Origin.Line, target, err, back.Diagnostics, link)
			return false
		}
		got, _, _ := convert.Emit(back.Nodes, convert.ToXrayJSON, convert.EmitOptions{})
		if !bytes.Equal(got, want) {
			t.Errorf("%s:%d: through a %s link the outbound changed:\n%s\n-> %s", rel, n.Origin.Line, target, want, got)
			ok = false
		}
	}
	return ok
}
