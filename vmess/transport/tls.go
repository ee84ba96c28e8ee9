package transport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	utls "github.com/refraction-networking/utls"
)

// tlsPlan is TLSConfig checked and parsed once per Dial.
type tlsPlan struct {
	serverName  string
	alpn        []string
	hello       *utls.ClientHelloID // nil: Go's crypto/tls ("unsafe")
	pins        [][]byte
	byName      []string
	insecure    bool
	roots       *x509.CertPool
	fingerprint string
	randomized  bool // a randomized hello: retry on an unusable draw
}

// modernFingerprints are the ClientHellos Xray draws "random" from
// (transport/internet/tls/tls.go ModernFingerprints).
var modernFingerprints = []*utls.ClientHelloID{
	&utls.HelloFirefox_99, &utls.HelloFirefox_102, &utls.HelloFirefox_105, &utls.HelloFirefox_120,
	&utls.HelloChrome_83, &utls.HelloChrome_87, &utls.HelloChrome_96, &utls.HelloChrome_100,
	&utls.HelloChrome_102, &utls.HelloChrome_106_Shuffle, &utls.HelloChrome_120, &utls.HelloChrome_131,
	&utls.HelloIOS_13, &utls.HelloIOS_14, &utls.HelloEdge_85, &utls.HelloEdge_106,
	&utls.HelloSafari_16_0, &utls.Hello360_11_0, &utls.HelloQQ_11_1,
}

// fingerprintByName maps Xray's fingerprint names (PresetFingerprints,
// ModernFingerprints, OtherFingerprints) to uTLS ClientHelloIDs. "random",
// "randomized", "randomizednoalpn" and "unsafe" are handled in
// lookupFingerprint. The map is read-only after package initialisation.
var fingerprintByName = map[string]*utls.ClientHelloID{
	"chrome": &utls.HelloChrome_Auto, "firefox": &utls.HelloFirefox_Auto, "safari": &utls.HelloSafari_Auto,
	"ios": &utls.HelloIOS_Auto, "android": &utls.HelloAndroid_11_OkHttp, "edge": &utls.HelloEdge_Auto,
	"360": &utls.Hello360_Auto, "qq": &utls.HelloQQ_Auto,

	"hellofirefox_99": &utls.HelloFirefox_99, "hellofirefox_102": &utls.HelloFirefox_102,
	"hellofirefox_105": &utls.HelloFirefox_105, "hellofirefox_120": &utls.HelloFirefox_120,
	"hellochrome_83": &utls.HelloChrome_83, "hellochrome_87": &utls.HelloChrome_87,
	"hellochrome_96": &utls.HelloChrome_96, "hellochrome_100": &utls.HelloChrome_100,
	"hellochrome_102": &utls.HelloChrome_102, "hellochrome_106_shuffle": &utls.HelloChrome_106_Shuffle,
	"hellochrome_120": &utls.HelloChrome_120, "hellochrome_131": &utls.HelloChrome_131,
	"helloios_13": &utls.HelloIOS_13, "helloios_14": &utls.HelloIOS_14,
	"helloedge_85": &utls.HelloEdge_85, "helloedge_106": &utls.HelloEdge_106,
	"hellosafari_16_0": &utls.HelloSafari_16_0, "hello360_11_0": &utls.Hello360_11_0,
	"helloqq_11_1": &utls.HelloQQ_11_1,

	"hellogolang": &utls.HelloGolang, "hellorandomized": &utls.HelloRandomized,
	"hellorandomizedalpn": &utls.HelloRandomizedALPN, "hellorandomizednoalpn": &utls.HelloRandomizedNoALPN,
	"hellofirefox_auto": &utls.HelloFirefox_Auto, "hellofirefox_55": &utls.HelloFirefox_55,
	"hellofirefox_56": &utls.HelloFirefox_56, "hellofirefox_63": &utls.HelloFirefox_63,
	"hellofirefox_65": &utls.HelloFirefox_65, "hellochrome_auto": &utls.HelloChrome_Auto,
	"hellochrome_58": &utls.HelloChrome_58, "hellochrome_62": &utls.HelloChrome_62,
	"hellochrome_70": &utls.HelloChrome_70, "hellochrome_72": &utls.HelloChrome_72,
	"helloios_auto": &utls.HelloIOS_Auto, "helloios_11_1": &utls.HelloIOS_11_1,
	"helloios_12_1": &utls.HelloIOS_12_1, "helloandroid_11_okhttp": &utls.HelloAndroid_11_OkHttp,
	"helloedge_auto": &utls.HelloEdge_Auto, "hellosafari_auto": &utls.HelloSafari_Auto,
	"hello360_auto": &utls.Hello360_Auto, "hello360_7_5": &utls.Hello360_7_5,
	"helloqq_auto": &utls.HelloQQ_Auto,

	"hellochrome_100_psk": &utls.HelloChrome_100_PSK, "hellochrome_112_psk_shuf": &utls.HelloChrome_112_PSK_Shuf,
	"hellochrome_114_padding_psk_shuf": &utls.HelloChrome_114_Padding_PSK_Shuf,
	"hellochrome_115_pq":               &utls.HelloChrome_115_PQ, "hellochrome_115_pq_psk": &utls.HelloChrome_115_PQ_PSK,
	"hellochrome_120_pq": &utls.HelloChrome_120_PQ,
}

// lookupFingerprint resolves an Xray fingerprint name. It returns nil,
// nil for "unsafe" (Go's crypto/tls). "" is uTLS Chrome, Xray's default.
// Like Xray's loader it lowercases the name and trims nothing: a name
// with spaces is one Xray refuses to load.
func lookupFingerprint(name string) (*utls.ClientHelloID, error) {
	switch name = strings.ToLower(name); name {
	case "":
		return &utls.HelloChrome_Auto, nil
	case "unsafe":
		return nil, nil
	case "random":
		// Xray draws once per process; a draw per dial is equally valid
		// for a prober and keeps no package state.
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(modernFingerprints))))
		if err != nil {
			return nil, err
		}
		return modernFingerprints[n.Int64()], nil
	case "randomized", "randomizednoalpn":
		id := utls.HelloRandomizedALPN
		if name == "randomizednoalpn" {
			id = utls.HelloRandomizedNoALPN
		}
		seed, err := utls.NewPRNGSeed()
		if err != nil {
			return nil, err
		}
		// Xray's weights: always offer TLS 1.3, never P-256 as first key share.
		w := utls.DefaultWeights
		w.TLSVersMax_Set_VersionTLS13 = 1
		w.FirstKeyShare_Set_CurveP256 = 0
		id.Seed = seed
		id.Weights = &w
		return &id, nil
	}
	if id := fingerprintByName[name]; id != nil {
		return id, nil
	}
	return nil, fmt.Errorf(`transport: unknown tlsSettings.fingerprint %q; use chrome, firefox, safari, ios, android, edge, 360, qq, random, randomized, randomizednoalpn, unsafe, one of Xray's hello* names (e.g. hellochrome_131), or leave it empty for chrome`, name)
}

// parsePin decodes one pinnedPeerCertSha256 entry the way Xray's config
// loader does: hex with optional colons, exactly 32 bytes.
func parsePin(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("transport: tlsSettings.pinnedPeerCertSha256 %q is not a hex SHA-256 (64 hex digits, colons allowed)", s)
	}
	return b, nil
}

func (c *Config) tlsPlan() (*tlsPlan, error) {
	t := &c.TLS
	p := &tlsPlan{
		serverName:  t.ServerName,
		alpn:        t.ALPN,
		byName:      t.VerifyPeerCertByName,
		insecure:    t.AllowInsecure,
		roots:       t.RootCAs,
		fingerprint: t.Fingerprint,
	}
	if p.serverName == "" {
		p.serverName = c.Address
	}
	if len(p.alpn) == 0 {
		p.alpn = []string{"h2", "http/1.1"}
	}
	hello, err := lookupFingerprint(t.Fingerprint)
	if err != nil {
		return nil, err
	}
	p.hello = hello
	// uTLS's randomized hellos ("Randomized", "Randomized-ALPN",
	// "Randomized-NoALPN"), whichever Xray name chose them.
	p.randomized = hello != nil && strings.HasPrefix(hello.Client, "Randomized")
	for _, s := range t.PinnedPeerCertSHA256 {
		for _, part := range strings.Split(s, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			b, err := parsePin(part)
			if err != nil {
				return nil, err
			}
			p.pins = append(p.pins, b)
		}
	}
	return p, nil
}

// errPinMismatch is the cause when no certificate matched a pin.
var errPinMismatch = errors.New("peer certificate is unrecognized (against pinnedPeerCertSha256); check the pin or the server")

// verify replicates Xray's RandCarrier.verifyPeerCert: a pinned leaf is
// accepted outright, a pinned CA becomes the only root, and
// verifyPeerCertByName replaces the server-name check.
func (p *tlsPlan) verify(rawCerts [][]byte) error {
	certs := make([]*x509.Certificate, 0, len(rawCerts))
	for _, raw := range rawCerts {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return fmt.Errorf("server certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return errors.New("server sent no certificate")
	}
	roots := p.roots
	foundCA := false
	if len(p.pins) > 0 {
		leaf := sha256.Sum256(certs[0].Raw)
		for _, pin := range p.pins {
			if subtle.ConstantTimeCompare(leaf[:], pin) == 1 {
				return nil
			}
		}
		for _, c := range certs[1:] {
			h := sha256.Sum256(c.Raw)
			for _, pin := range p.pins {
				if subtle.ConstantTimeCompare(h[:], pin) == 1 && c.IsCA {
					roots = x509.NewCertPool()
					roots.AddCert(c)
					foundCA = true
				}
			}
			if foundCA {
				break
			}
		}
		if !foundCA {
			return errPinMismatch
		}
	}
	names := p.byName
	if len(names) == 0 {
		if !foundCA {
			return nil // the TLS library verified (or AllowInsecure)
		}
		names = []string{p.serverName}
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), CurrentTime: time.Now()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	var last error
	for _, n := range names {
		opts.DNSName = n
		if _, err := certs[0].Verify(opts); err == nil {
			return nil
		} else {
			last = err
		}
	}
	return fmt.Errorf("peer certificate is invalid for %v: %w", names, last)
}

// skipLibraryVerify tells whether verification is done by verify alone.
func (p *tlsPlan) skipLibraryVerify() bool {
	return p.insecure || len(p.pins) > 0 || len(p.byName) > 0
}

// handshakeTLS runs the client handshake on conn. forceALPN, when set,
// replaces the ALPN list (WebSocket and HTTPUpgrade use "http/1.1", as in
// Xray).
func handshakeTLS(ctx context.Context, conn net.Conn, p *tlsPlan, forceALPN []string) (net.Conn, error) {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error { return p.verify(raw) }
	if p.hello == nil {
		alpn := p.alpn
		if forceALPN != nil {
			alpn = forceALPN
		}
		tc := tls.Client(conn, &tls.Config{
			ServerName:            p.serverName,
			NextProtos:            alpn,
			RootCAs:               p.roots,
			InsecureSkipVerify:    p.skipLibraryVerify(),
			VerifyPeerCertificate: verify,
		})
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	ucfg := &utls.Config{
		ServerName:            p.serverName,
		RootCAs:               p.roots,
		InsecureSkipVerify:    p.skipLibraryVerify(),
		VerifyPeerCertificate: verify,
	}
	var uc *utls.UConn
	if forceALPN != nil && !p.randomized {
		// As Xray's WebsocketHandshakeContext: the browser's hello, but
		// offering only the forced protocols. Xray builds the hello twice
		// to get there; editing the spec first builds it (and its key
		// shares) once, with the same bytes on the wire.
		spec, err := utls.UTLSIdToSpec(*p.hello)
		if err != nil {
			return nil, err
		}
		setALPN(&spec.Extensions, forceALPN)
		uc = utls.UClient(conn, ucfg, utls.HelloCustom)
		if err := uc.ApplyPreset(&spec); err != nil {
			return nil, err
		}
	} else {
		uc = utls.UClient(conn, ucfg, *p.hello)
		if p.randomized {
			if err := trimRandomizedGroups(uc); err != nil {
				return nil, err
			}
		}
		if forceALPN != nil {
			if err := uc.BuildHandshakeState(); err != nil {
				return nil, err
			}
			setALPN(&uc.Extensions, forceALPN)
			if err := uc.BuildHandshakeState(); err != nil {
				return nil, err
			}
		}
	}
	if err := uc.HandshakeContext(ctx); err != nil {
		return nil, unusableDraw(uc, err)
	}
	return uc, nil
}

// unusableDrawError is a handshake that failed because the server's
// HelloRetryRequest asked for a group the ClientHello offered but uTLS
// cannot make a key share for (only X25519 and the NIST curves can be
// answered in a retry). With a randomized hello that says nothing about
// the server: another draw may succeed.
type unusableDrawError struct {
	group utls.CurveID
	err   error
}

func (e *unusableDrawError) Error() string {
	return fmt.Sprintf("%v (the server asked for key-share group %#04x in a HelloRetryRequest, which this ClientHello offered but cannot answer)", e.err, uint16(e.group))
}

func (e *unusableDrawError) Unwrap() error { return e.err }

// unusableDraw returns err as an *unusableDrawError when the handshake
// state of uc shows a HelloRetryRequest for a group uTLS cannot answer.
func unusableDraw(uc *utls.UConn, err error) error {
	sh := uc.HandshakeState.ServerHello
	if sh == nil || sh.SelectedGroup == 0 {
		return err
	}
	switch sh.SelectedGroup {
	case utls.X25519, utls.CurveP256, utls.CurveP384, utls.CurveP521:
		return err
	}
	return &unusableDrawError{group: sh.SelectedGroup, err: err}
}

// trimRandomizedGroups removes from a randomized ClientHello the groups
// uTLS can only use with a key share sent up front (the hybrid
// post-quantum ones) when the draw sent no share for them: a server that
// prefers such a group would ask for it in a HelloRetryRequest, which
// uTLS cannot answer (an *unusableDrawError).
// Xray's randomized fingerprints fail that way against Go servers; a
// prober should not report the draw as a server fault.
func trimRandomizedGroups(uc *utls.UConn) error {
	if err := uc.BuildHandshakeState(); err != nil {
		return err
	}
	shared := map[utls.CurveID]bool{}
	for _, ext := range uc.Extensions {
		if ks, ok := ext.(*utls.KeyShareExtension); ok {
			for _, k := range ks.KeyShares {
				shared[k.Group] = true
			}
		}
	}
	changed := false
	for _, ext := range uc.Extensions {
		sc, ok := ext.(*utls.SupportedCurvesExtension)
		if !ok {
			continue
		}
		kept := sc.Curves[:0:0]
		for _, c := range sc.Curves {
			switch c {
			case utls.X25519, utls.CurveP256, utls.CurveP384, utls.CurveP521:
			default:
				if !shared[c] && c&0x0f0f != 0x0a0a { // keep GREASE values
					changed = true
					continue
				}
			}
			kept = append(kept, c)
		}
		sc.Curves = kept
	}
	if !changed {
		return nil
	}
	return uc.BuildHandshakeState()
}

// setALPN makes the hello's ALPN extension offer exactly protos, adding
// the extension when the fingerprint has none (Xray's rule).
func setALPN(exts *[]utls.TLSExtension, protos []string) {
	for _, ext := range *exts {
		if a, ok := ext.(*utls.ALPNExtension); ok {
			a.AlpnProtocols = protos
			return
		}
	}
	*exts = append(*exts, &utls.ALPNExtension{AlpnProtocols: protos})
}

// negotiatedProtocol is the ALPN protocol a TLS conn (Go's or uTLS's)
// agreed on; "" for other conns or when none was agreed.
func negotiatedProtocol(c net.Conn) string {
	switch tc := c.(type) {
	case *tls.Conn:
		return tc.ConnectionState().NegotiatedProtocol
	case *utls.UConn:
		return tc.ConnectionState().NegotiatedProtocol
	}
	return ""
}
