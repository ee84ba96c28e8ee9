package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/lint"
	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// These tests hold the verbs to one another: what convert writes, lint
// accepts; what lint accepts, convert reads and Xray loads; what convert
// writes from a link, probe connects with.

// consistencyNow is the fixed clock lint judges dated removals against.
func consistencyNow() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func consistencyLinter(t *testing.T) *lint.Linter {
	t.Helper()
	l, err := lint.New(lint.Options{Now: consistencyNow})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// lintClean lints doc (named name) and fails on any error-level finding;
// it returns the rules that fired as warnings or infos, for the caller to
// tally.
func lintClean(t *testing.T, l *lint.Linter, name string, doc []byte) []string {
	t.Helper()
	ds, err := l.LintBytes(context.Background(), name, doc)
	if err != nil {
		t.Fatalf("lint could not read convert's output: %v\n%s", err, doc)
	}
	var rules []string
	for _, d := range ds {
		if d.Severity == lint.Error {
			t.Errorf("lint error on convert's output: %s\n%s", d, doc)
			continue
		}
		rules = append(rules, d.Rule+" ("+d.Severity.String()+")")
	}
	return rules
}

// TestConsistencyConvertOutputLints: every Xray outbound convert writes
// from its link corpus and from its document fixtures lints with no
// errors. Warnings are allowed and logged by rule (see -v).
func TestConsistencyConvertOutputLints(t *testing.T) {
	l := consistencyLinter(t)
	fired := map[string]int{}
	t.Run("corpus", func(t *testing.T) {
		data, err := os.ReadFile(convertFixture("corpus.json"))
		if err != nil {
			t.Fatal(err)
		}
		var corpus []struct {
			Name string `json:"name"`
			Link string `json:"link"`
		}
		if err := json.Unmarshal(data, &corpus); err != nil {
			t.Fatal(err)
		}
		written := 0
		for _, c := range corpus {
			t.Run(c.Name, func(t *testing.T) {
				n, _, err := convert.ParseLink(c.Link)
				if err != nil {
					return // a link convert refuses has no output to lint
				}
				out, ds, err := convert.Emit([]*convert.Node{n}, convert.ToXrayJSON, convert.EmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if hasConvertError(ds) {
					return // a node Xray cannot express is left out, not written
				}
				written++
				for _, r := range lintClean(t, l, c.Name+".json", out) {
					fired[r]++
					t.Logf("%s on %q", r, c.Name)
				}
			})
		}
		t.Logf("%d of %d corpus links written as Xray outbounds and linted", written, len(corpus))
		if written < 50 {
			t.Fatalf("only %d corpus links produced an outbound; the corpus or convert changed", written)
		}
	})
	for _, fixture := range []string{"clash.yaml", "singbox.json", "surge.conf", "sub-base64.txt", "sub-plain.txt",
		"xray-list.json", "xray-settings.json", "xray.jsonc", "xray.toml", "xray.yaml"} {
		t.Run(fixture, func(t *testing.T) {
			data, err := os.ReadFile(convertFixture(fixture))
			if err != nil {
				t.Fatal(err)
			}
			res, err := convert.Parse(context.Background(), fixture, data, convert.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Nodes) == 0 {
				t.Fatalf("no nodes read from %s", fixture)
			}
			for _, target := range []convert.OutputFormat{convert.ToXrayJSON, convert.ToXrayConfig, convert.ToXrayYAML, convert.ToXrayTOML} {
				out, _, err := convert.Emit(res.Nodes, target, convert.EmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ext := map[convert.OutputFormat]string{convert.ToXrayYAML: ".yaml", convert.ToXrayTOML: ".toml"}[target]
				if ext == "" {
					ext = ".json"
				}
				for _, r := range lintClean(t, l, fixture+"."+string(target)+ext, out) {
					fired[r]++
					t.Logf("%s on %s --to %s", r, fixture, target)
				}
			}
		})
	}
	rules := make([]string, 0, len(fired))
	for r := range fired {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		t.Logf("lint finding on convert output: %s ×%d", r, fired[r])
	}
}

func hasConvertError(ds []convert.Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == convert.Error {
			return true
		}
	}
	return false
}

// TestConsistencyLintOKConverts: every config lint accepts in
// testdata/lint/ok (whole configs, one outbound, a list, a bare settings
// object, a flat server: each holds VMess servers) is read by convert as
// Xray input without errors, and what convert writes back builds in
// Xray-core's own loader, and lint still finds no error in it.
func TestConsistencyLintOKConverts(t *testing.T) {
	l := consistencyLinter(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "lint", "ok", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no lint/ok fixtures (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := convert.Parse(context.Background(), filepath.Base(f), data, convert.Options{From: convert.FormatXray})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors() > 0 {
				t.Fatalf("convert errors on a config lint accepts: %v", res.Diagnostics)
			}
			if len(res.Nodes) == 0 {
				t.Fatal("convert read no VMess node")
			}
			out, ds, err := convert.Emit(res.Nodes, convert.ToXrayJSON, convert.EmitOptions{})
			if err != nil || hasConvertError(ds) {
				t.Fatalf("emit: %v %v", err, ds)
			}
			xrayBuilds(t, "outbounds", string(out))
			for _, r := range lintClean(t, l, filepath.Base(f)+".xray.json", out) {
				t.Logf("%s on convert's rewrite", r)
			}
		})
	}
}

// TestConsistencyConvertThenLint: `xvm convert --to xray-config` output for
// a link, fed to `xvm lint -`, exits 0.
func TestConsistencyConvertThenLint(t *testing.T) {
	links := map[string]string{
		"uri ws tls":     "vmess://" + convertUUID + "@example.com:443?type=ws&security=tls&host=cdn.example.com&path=%2Fws#HK",
		"uri grpc tls":   "vmess://" + convertUUID + "@example.com:443?type=grpc&security=tls&serviceName=gun&sni=example.com#G",
		"uri raw":        "vmess://" + convertUUID + "@203.0.113.7:10086?encryption=aes-128-gcm#R",
		"v2rayn ws":      v2rayNLink("N", "example.com", 8080, convertUUID, "ws", map[string]string{"path": "/v", "host": "cdn.example.com"}),
		"v2rayn h2 tls":  v2rayNLink("H", "example.com", 443, convertUUID, "h2", map[string]string{"path": "/h", "tls": "tls", "sni": "example.com"}),
		"v2rayn kcp":     v2rayNLink("K", "example.com", 4000, convertUUID, "kcp", map[string]string{"type": "wechat-video", "path": "seed"}),
		"httpupgrade ed": "vmess://" + convertUUID + "@example.com:80?type=httpupgrade&path=%2Fup%3Fed%3D2048&host=cdn.example.com#U",
	}
	for name, link := range links {
		t.Run(name, func(t *testing.T) {
			cfg, errOut, code := runXVM(t, false, "", "convert", "--to", "xray-config", link)
			if code != 0 {
				t.Fatalf("convert exit %d: %s", code, errOut)
			}
			out, errOut, code := runXVM(t, false, cfg, "lint", "-")
			if code != 0 {
				t.Fatalf("lint of convert's xray-config exit %d\nstdout: %s\nstderr: %s\nconfig: %s", code, out, errOut, cfg)
			}
		})
	}
}

// TestConsistencyConvertThenProbe: a link for an in-process Xray server
// with WebSocket over TLS and a pinned certificate, converted by `xvm
// convert --to xray`, then probed by `xvm probe` from that output, reports
// the server ok.
func TestConsistencyConvertThenProbe(t *testing.T) {
	web := probeWeb(t)
	cert := vmesstest.NewCert(t, "vmess.test")
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{
		StreamSettings: `{"network":"ws","wsSettings":{"path":"/ws"},"security":"tls","tlsSettings":` + cert.TLSSettings() + `}`,
	})
	waitListen(t, srv.Addr)
	q := url.Values{"type": {"ws"}, "path": {"/ws"}, "security": {"tls"}, "sni": {"vmess.test"}, "pcs": {cert.SHA256}}
	link := fmt.Sprintf("vmess://%s@%s:%d?%s#pinned", srv.ID, srv.Host, srv.Port, q.Encode())

	t.Run("without the pin", func(t *testing.T) {
		// The control: the same link without pcs must fail, so the ok runs
		// below owe their success to the pin convert carried.
		q := url.Values{"type": {"ws"}, "path": {"/ws"}, "security": {"tls"}, "sni": {"vmess.test"}}
		bare := fmt.Sprintf("vmess://%s@%s:%d?%s#unpinned", srv.ID, srv.Host, srv.Port, q.Encode())
		converted, errOut, code := runXVM(t, false, "", "convert", "--to", "xray", bare)
		if code != 0 {
			t.Fatalf("convert exit %d: %s", code, errOut)
		}
		out, errOut, code := runXVM(t, false, converted, "probe", "--url", web, "--count", "1", "--output", "json", "-")
		wantTLSFailure(t, code, out, errOut)
	})
	t.Run("sing-box drops the pin", func(t *testing.T) {
		// sing-box pins public keys, not certificates: convert says the
		// pin is not carried, and probe then cannot verify the server.
		converted, errOut, code := runXVM(t, false, "", "convert", "--to", "sing-box", link)
		if code != 0 || !strings.Contains(errOut, "pcs:") || strings.Contains(converted, cert.SHA256) {
			t.Fatalf("convert exit %d, stderr %q; want the pin dropped with a warning\n%s", code, errOut, converted)
		}
		out, errOut, code := runXVM(t, false, converted, "probe", "--url", web, "--count", "1", "--output", "json", "-")
		wantTLSFailure(t, code, out, errOut)
	})
	for _, target := range []string{"xray", "xray-config", "yaml", "toml", "uri", "v2rayn", "clash"} {
		t.Run(target, func(t *testing.T) {
			converted, errOut, code := runXVM(t, false, "", "convert", "--to", target, link)
			if code != 0 {
				t.Fatalf("convert exit %d: %s", code, errOut)
			}
			if target == "v2rayn" {
				if !strings.Contains(converted, "vmess://") {
					t.Fatalf("not a v2rayN link: %s", converted)
				}
			} else if !strings.Contains(converted, cert.SHA256) {
				t.Fatalf("convert dropped the certificate pin:\n%s", converted)
			}
			out, errOut, code := runXVM(t, false, converted, "probe", "--url", web, "--count", "1", "--output", "json", "-")
			if code != 0 {
				t.Fatalf("probe exit %d\nstdout: %s\nstderr: %s\ninput: %s", code, out, errOut, converted)
			}
			var res []probe.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
				t.Fatalf("result %s (%v)", out, err)
			}
			if !res[0].OK || res[0].TransportSecurity != "tls" || res[0].Network != "ws" {
				t.Fatalf("result not an ok ws+tls probe: %s", out)
			}
		})
	}
}

// wantTLSFailure checks a probe run that must fail on certificate
// verification: exit 1 and one result whose error kind is tls.
func wantTLSFailure(t *testing.T, code int, out, errOut string) {
	t.Helper()
	var res []probe.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("exit %d, result %s (%v); stderr %s", code, out, err, errOut)
	}
	if code != 1 || res[0].OK || res[0].Error == nil || res[0].Error.Kind != "tls" || !strings.Contains(res[0].Error.Message, "certificate") {
		t.Fatalf("exit %d, want 1 with a tls certificate failure: %s", code, out)
	}
}
