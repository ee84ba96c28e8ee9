package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utls "github.com/refraction-networking/utls"
	"github.com/xtls/xray-core/infra/conf"
	xtls "github.com/xtls/xray-core/transport/internet/tls"

	"github.com/xvmtools/xvm/vmess"
)

// TestFingerprintsMatchXray checks the schema's fingerprint enum is exactly
// the names Xray's GetFingerprint knows, plus "" (Chrome) and "unsafe".
func TestFingerprintsMatchXray(t *testing.T) {
	set := map[string]bool{"": true, "unsafe": true}
	for _, m := range []map[string]*utls.ClientHelloID{xtls.PresetFingerprints, xtls.ModernFingerprints, xtls.OtherFingerprints} {
		for k := range m {
			set[k] = true
		}
	}
	var want []string
	for k := range set {
		want = append(want, k)
	}
	got := append([]string(nil), Fingerprints()...)
	sort.Strings(want)
	sort.Strings(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("schema fingerprint enum differs from Xray's (-xray +schema):\n%s", d)
	}
}

// TestValueChecksAgreeWithXray feeds each value to Xray's own loader and to
// our validator; both must accept or both refuse.
func TestValueChecksAgreeWithXray(t *testing.T) {
	const pbk = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	const pin = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	type tc struct {
		name string
		ours func() bool
		xray func() error
	}
	reality := func(fp, key, sid string) func() error {
		return func() error {
			_, err := (&conf.REALITYConfig{Fingerprint: fp, PublicKey: key, ShortId: sid, ServerName: "a.example.com"}).Build()
			return err
		}
	}
	tlsFP := func(fp string) func() error {
		return func() error { _, err := (&conf.TLSConfig{Fingerprint: fp}).Build(); return err }
	}
	pcs := func(v string) func() error {
		return func() error { _, err := (&conf.TLSConfig{PinnedPeerCertSha256: v}).Build(); return err }
	}
	var cases []tc
	for _, fp := range []string{"", "chrome", "Chrome", "HelloChrome_Auto", "hellochrome_131", "hellogolang", "unsafe", "hellofoo", "hello", "random", "randomizednoalpn", "firefox_99"} {
		fp := fp
		cases = append(cases,
			tc{name: "tls fp " + fp, ours: func() bool { return IsFingerprint(fp) }, xray: tlsFP(fp)},
			tc{name: "reality fp " + fp, ours: func() bool { return IsRealityFingerprint(fp) }, xray: reality(fp, pbk, "")})
	}
	for _, key := range []string{pbk, "abc", "", pbk + "=", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Replace(pbk, "A", "+", 1), strings.Replace(pbk, "A", "-", 1)} {
		key := key
		cases = append(cases, tc{name: "pbk " + key, ours: func() bool { return CheckRealityPublicKey(key) == nil }, xray: reality("chrome", key, "")})
	}
	for _, sid := range []string{"", "ab", "abc", "zz", "0123456789abcdef", "0123456789ABCDEF", "0123456789abcdef01", "0123456789abcde"} {
		sid := sid
		cases = append(cases, tc{name: "sid " + sid, ours: func() bool { return CheckShortID(sid) == nil }, xray: reality("chrome", pbk, sid)})
	}
	for _, v := range []string{"", pin, "zz", pin[:62], pin + "00", "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", pin + ", ," + pin, pin + ",zz"} {
		v := v
		cases = append(cases, tc{name: "pcs " + v, ours: func() bool { return CheckPinnedPeerCertSHA256(v) == nil }, xray: pcs(v)})
	}
	for _, v := range []string{"", "abc", strings.Repeat("A", 2603), strings.Repeat("A", 2602), strings.Repeat("A", 2604)} {
		v := v
		cases = append(cases, tc{name: fmt.Sprintf("pqv %d chars", len(v)), ours: func() bool { return CheckMldsa65Verify(v) == nil }, xray: func() error {
			_, err := (&conf.REALITYConfig{Fingerprint: "chrome", PublicKey: pbk, ServerName: "a", Mldsa65Verify: v}).Build()
			return err
		}})
	}
	for _, l := range [][]string{nil, {"h2"}, {"fromMitm"}, {"FROMMITM", "h2"}, {"h2", "frommitm"}, {"h2", "http/1.1"}} {
		l := l
		cases = append(cases, tc{name: "alpn " + strings.Join(l, ","), ours: func() bool { return CheckALPN(l) == nil }, xray: func() error {
			sl := conf.StringList(l)
			_, err := (&conf.TLSConfig{ALPN: &sl}).Build()
			return err
		}})
	}
	for _, tcp := range []bool{true, false} {
		for _, typ := range append(FinalMaskTypes(tcp), "bogus", "Noise", "FRAGMENT", "header-dns", "fragment") {
			tcp, typ := tcp, typ
			cases = append(cases, tc{
				name: "finalmask " + map[bool]string{true: "tcp ", false: "udp "}[tcp] + typ,
				ours: func() bool { return IsFinalMaskType(tcp, typ) },
				xray: func() error {
					_, err := (&conf.Mask{Type: typ}).Build(tcp)
					if err != nil && !strings.Contains(err.Error(), "unknown config id") {
						return nil // a known type whose empty settings Xray refuses
					}
					return err
				},
			})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			xerr := c.xray()
			if ours := c.ours(); ours != (xerr == nil) {
				t.Errorf("ours accepts=%v, Xray err=%v", ours, xerr)
			}
		})
	}
}

// TestCheckFinalMask checks the whole-object check names the bad part.
func TestCheckFinalMask(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"udp":[{"type":"noise","settings":{}}],"tcp":[{"type":"fragment"}]}`, ""},
		{`{"quicParams":{}}`, ""},
		{`{"udp":[{"type":"bogus"}]}`, `udp[0] type "bogus" is unknown`},
		{`{"tcp":[{"type":"noise"}]}`, `tcp[0] type "noise" is unknown`},
		{`{"udp":[{}]}`, "udp[0] has no type"},
		{`{"udp":{}}`, "udp is not a list"},
		{`{"udp":[{"type":"noise","settings":3}]}`, "settings is not an object"},
		{`notjson`, "not a JSON object"},
		{`{"quicParams":5}`, "quicParams is not an object"},
		{`[]`, "not a JSON object"},
		// Both lists bad: always the same one is named (keys are sorted).
		{`{"udp":[{"type":"bogus"}],"tcp":[{"type":"bogus"}]}`, `tcp[0] type "bogus" is unknown`},
	} {
		t.Run(c.in, func(t *testing.T) {
			err := CheckFinalMask([]byte(c.in))
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			// Xray refuses it too.
			var fm conf.FinalMask
			xerr := json.Unmarshal([]byte(c.in), &fm)
			if xerr == nil {
				for _, m := range fm.Tcp {
					if _, e := m.Build(true); e != nil && xerr == nil {
						xerr = e
					}
				}
				for _, m := range fm.Udp {
					if _, e := m.Build(false); e != nil && xerr == nil {
						xerr = e
					}
				}
			}
			if xerr == nil {
				t.Errorf("Xray accepts %s", c.in)
			}
		})
	}
}

// TestIDProblem checks the reason for each kind of id vmess.ParseID
// refuses, and that it never repeats the id.
func TestIDProblem(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{"", "it is empty"},
		{strings.Repeat("a", 31), "it is 31 bytes; Xray takes a UUID (32-36 bytes) or a name of 1-30 bytes"},
		{strings.Repeat("a", 37), "it is 37 bytes; Xray takes a UUID (32-36 bytes) or a name of 1-30 bytes"},
		{"b831-381d6324-4d53-ad4f-8cda48b30811", "a dash is out of place; want 8-4-4-4-12 hex digits"},
		{"27848739-7e62-4138-9fd3-098a63964bzz", "a UUID holds only hex digits and dashes"},
		{"27848739-7e62-4138-9fd3-098a63964b6", "too few hex digits for a UUID"},
	} {
		t.Run(c.want, func(t *testing.T) {
			_, err := vmess.ParseID(c.id)
			if err == nil {
				t.Fatalf("ParseID(%q) accepted it", c.id)
			}
			got := IDProblem(err)
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if len(c.id) > 8 && strings.Contains(got, c.id) {
				t.Errorf("%q repeats the id", got)
			}
		})
	}
}

// FuzzCheckFinalMask checks the finalmask check never panics and that
// whatever it accepts Xray reads with every mask type known (mask settings
// themselves are not judged, so Xray may still refuse their contents).
func FuzzCheckFinalMask(f *testing.F) {
	for _, s := range []string{
		`{"udp":[{"type":"noise","settings":{}}],"tcp":[{"type":"fragment"}]}`,
		`{"udp":[{"type":"bogus"}]}`,
		`{"UDP":[{"type":"Header-DNS","settings":null}]}`,
		`{"quicParams":{}}`,
		`{"tcp":{}}`,
		`null`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckFinalMask(data) != nil {
			return
		}
		var fm conf.FinalMask
		if err := json.Unmarshal(data, &fm); err != nil {
			t.Fatalf("accepted, but Xray cannot read it: %v", err)
		}
		for _, m := range fm.Tcp {
			if _, err := m.Build(true); err != nil && strings.Contains(err.Error(), "unknown config id") {
				t.Fatalf("accepted an unknown tcp mask: %v", err)
			}
		}
		for _, m := range fm.Udp {
			if _, err := m.Build(false); err != nil && strings.Contains(err.Error(), "unknown config id") {
				t.Fatalf("accepted an unknown udp mask: %v", err)
			}
		}
	})
}
