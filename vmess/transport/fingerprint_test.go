package transport

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utls "github.com/refraction-networking/utls"
	xtls "github.com/xtls/xray-core/transport/internet/tls"
)

// xrayAcceptsFingerprint is infra/conf TLSConfig.Build's rule: the name
// is lowercased, then "unsafe" or any name GetFingerprint knows loads.
func xrayAcceptsFingerprint(name string) bool {
	name = strings.ToLower(name)
	return name == "unsafe" || xtls.GetFingerprint(name) != nil
}

// xrayFingerprintNames is every name in Xray's three fingerprint maps.
func xrayFingerprintNames() []string {
	var names []string
	for _, m := range []map[string]*utls.ClientHelloID{xtls.PresetFingerprints, xtls.ModernFingerprints, xtls.OtherFingerprints} {
		for k := range m {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// ourFingerprintNames is every name lookupFingerprint resolves: its
// table plus the names it handles itself.
func ourFingerprintNames() []string {
	names := []string{"", "unsafe", "random", "randomized", "randomizednoalpn"}
	for k := range fingerprintByName {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// sameHello compares what a ClientHelloID selects (the seed of a
// randomized one is drawn per use and differs by design).
func sameHello(a, b *utls.ClientHelloID) bool {
	if a.Client != b.Client || a.Version != b.Version || (a.Weights == nil) != (b.Weights == nil) {
		return false
	}
	return a.Weights == nil || *a.Weights == *b.Weights
}

// TestFingerprintNamesMatchXray: a fingerprint name Xray-core's loader
// accepts is one Dial accepts, with the same ClientHello, and a name Dial
// accepts is one Xray accepts. There are no deliberate differences: both
// lowercase the name and trim nothing; "random" is drawn per Dial rather
// than once per process, from the same ModernFingerprints set.
func TestFingerprintNamesMatchXray(t *testing.T) {
	t.Parallel()
	t.Run("xray-names-accepted", func(t *testing.T) {
		for _, name := range xrayFingerprintNames() {
			for _, spelled := range []string{name, strings.ToUpper(name)} {
				got, err := lookupFingerprint(spelled)
				if err != nil {
					t.Errorf("Xray accepts fingerprint %q, Dial does not: %v", spelled, err)
					continue
				}
				switch name {
				case "unsafe":
					if got != nil {
						t.Errorf("%q: got uTLS %v, want Go's crypto/tls", spelled, got)
					}
				case "random":
					// Checked against ModernFingerprints below.
				default:
					if want := xtls.GetFingerprint(name); !sameHello(got, want) {
						t.Errorf("%q: ClientHello %v (weights %v), Xray's %v (weights %v)", spelled, got, got.Weights, want, want.Weights)
					}
				}
			}
		}
	})
	t.Run("our-names-accepted-by-xray", func(t *testing.T) {
		for _, name := range ourFingerprintNames() {
			if !xrayAcceptsFingerprint(name) {
				t.Errorf("Dial accepts fingerprint %q, Xray's loader refuses it", name)
			}
			if name == "" {
				if got, want := hello(t, name), xtls.GetFingerprint(""); !sameHello(got, want) {
					t.Errorf("empty fingerprint: %v, Xray's %v", got, want)
				}
			}
		}
		if diff := cmp.Diff(xrayFingerprintNames(), ourFingerprintNames()[1:]); diff != "" {
			t.Errorf("name sets differ (-xray +ours, ours without \"\"):\n%s", diff)
		}
	})
	t.Run("random-draws-from-modern", func(t *testing.T) {
		var want, ours []string
		for _, id := range xtls.ModernFingerprints {
			want = append(want, id.Str())
		}
		for _, id := range modernFingerprints {
			ours = append(ours, id.Str())
		}
		sort.Strings(want)
		sort.Strings(ours)
		if diff := cmp.Diff(want, ours); diff != "" {
			t.Errorf("random's set differs from ModernFingerprints (-xray +ours):\n%s", diff)
		}
		for i := 0; i < 50; i++ {
			got := hello(t, "random")
			found := false
			for _, id := range xtls.ModernFingerprints {
				found = found || sameHello(got, id)
			}
			if !found {
				t.Fatalf("random drew %v, not one of Xray's ModernFingerprints", got)
			}
		}
	})
	t.Run("refused-by-both", func(t *testing.T) {
		for _, name := range []string{"netscape", " chrome", "chrome ", "hellochrome", "hellochrome_999", "golang", "hello_chrome_auto", "randomizedalpn", "\x00"} {
			if xrayAcceptsFingerprint(name) {
				t.Fatalf("test premise: Xray accepts %q", name)
			}
			if _, err := lookupFingerprint(name); err == nil || !strings.Contains(err.Error(), "tlsSettings.fingerprint") {
				t.Errorf("fingerprint %q: err %v, want an unknown-fingerprint error (Xray refuses it)", name, err)
			}
		}
	})
}

// hello resolves a fingerprint name that must be known.
func hello(t *testing.T, name string) *utls.ClientHelloID {
	t.Helper()
	id, err := lookupFingerprint(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
