package transport

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// UDP masks (Xray's finalmask.udp) wrap every mKCP datagram. The first
// mask of the list is outermost on the wire: its header comes first, and
// it is removed first on receipt (finalmask headerManagerConn). xvm
// speaks the masks that the legacy mKCP header.type and seed settings
// became: the header-* disguises, mkcp-original (the checksum and XOR
// every older mKCP applied) and mkcp-aes128gcm (the seed).

// udpMask is one mask of a connection, with its per-connection state.
type udpMask interface {
	// size is the bytes the mask adds in front of the payload.
	size() int
	// wrap writes the mask in front of (and over) p[size():], which holds
	// the inner datagram, and returns the whole masked datagram (it may
	// grow p past len(p), within its capacity).
	wrap(p []byte) ([]byte, error)
	// unwrap returns the inner datagram of p, or an error for one that
	// does not belong to the mask.
	unwrap(p []byte) ([]byte, error)
}

// errUDPMask is the cause when a datagram does not carry the masks.
var errUDPMask = errors.New("transport: datagram does not carry the configured finalmask")

// finalMaskJSON is streamSettings.finalmask as Xray's loader reads it.
type finalMaskJSON struct {
	TCP []maskJSON `json:"tcp"`
	UDP []maskJSON `json:"udp"`
}

type maskJSON struct {
	Type     string          `json:"type"`
	Settings json.RawMessage `json:"settings"`
}

// udpMaskSpec is a parsed UDP mask: its type and settings, before any
// connection state.
type udpMaskSpec struct {
	typ      string
	domain   string // header-dns
	password string // mkcp-aes128gcm
}

// parseFinalMask reads the udp masks of raw and refuses tcp masks (which
// xvm does not speak) by name. udpAllowed tells whether the network uses
// UDP masks at all.
func parseFinalMask(raw json.RawMessage) ([]udpMaskSpec, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var fm finalMaskJSON
	if err := json.Unmarshal(raw, &fm); err != nil {
		return nil, fmt.Errorf("transport: streamSettings.finalmask does not load as Xray reads it: %w", err)
	}
	if len(fm.TCP) > 0 {
		return nil, &UnsupportedError{What: fmt.Sprintf("finalmask.tcp mask %q", fm.TCP[0].Type),
			Hint: "xvm does not speak TCP masks; probe this server with Xray's own client"}
	}
	var specs []udpMaskSpec
	for _, m := range fm.UDP {
		s := udpMaskSpec{typ: m.Type}
		settings := []byte(m.Settings)
		if len(settings) == 0 {
			settings = []byte("{}")
		}
		var fields struct {
			Domain   string `json:"domain"`
			Password string `json:"password"`
		}
		switch m.Type {
		case "header-srtp", "header-utp", "header-wechat", "header-dtls", "header-wireguard", "mkcp-original":
		case "header-dns", "mkcp-aes128gcm":
			if err := json.Unmarshal(settings, &fields); err != nil {
				return nil, fmt.Errorf("transport: finalmask.udp %s settings: %w", m.Type, err)
			}
			s.domain, s.password = fields.Domain, fields.Password
			if m.Type == "header-dns" && s.domain == "" {
				s.domain = "www.baidu.com" // Xray's default
			}
		case "header-custom", "noise", "salamander", "sudoku", "xdns", "xicmp":
			return nil, &UnsupportedError{What: fmt.Sprintf("finalmask.udp mask %q", m.Type),
				Hint: "xvm speaks the header-* masks, mkcp-original and mkcp-aes128gcm"}
		default:
			return nil, fmt.Errorf("transport: finalmask.udp mask type %q is unknown to Xray", m.Type)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// legacyKCPMasks are the masks a legacy kcpSettings header.type and seed
// stand for: the header disguise (if any), then mkcp-aes128gcm keyed by
// the seed, or mkcp-original without one.
func legacyKCPMasks(headerType, domain, seed string) ([]udpMaskSpec, error) {
	var specs []udpMaskSpec
	switch h := strings.ToLower(headerType); h {
	case "", "none":
	case "srtp", "utp", "dtls", "wireguard":
		specs = append(specs, udpMaskSpec{typ: "header-" + h})
	case "wechat-video":
		specs = append(specs, udpMaskSpec{typ: "header-wechat"})
	case "dns":
		if domain == "" {
			domain = "www.baidu.com"
		}
		specs = append(specs, udpMaskSpec{typ: "header-dns", domain: domain})
	default:
		return nil, fmt.Errorf("transport: kcpSettings.header.type %q is not one of none, srtp, utp, wechat-video, dtls, wireguard, dns", headerType)
	}
	if seed != "" {
		specs = append(specs, udpMaskSpec{typ: "mkcp-aes128gcm", password: seed})
	} else {
		specs = append(specs, udpMaskSpec{typ: "mkcp-original"})
	}
	return specs, nil
}

// newUDPMasks builds a connection's masks from their specs, drawing the
// random starting values each one keeps.
func newUDPMasks(specs []udpMaskSpec) ([]udpMask, error) {
	masks := make([]udpMask, 0, len(specs))
	for _, s := range specs {
		var r [2]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		rnd := binary.BigEndian.Uint16(r[:])
		var m udpMask
		switch s.typ {
		case "header-srtp":
			m = &srtpMask{number: rnd}
		case "header-utp":
			m = &fixedMask{header: []byte{byte(rnd >> 8), byte(rnd), 1, 0}}
		case "header-wechat":
			m = &wechatMask{sn: uint32(rnd)}
		case "header-dtls":
			m = &dtlsMask{epoch: rnd, length: 17}
		case "header-wireguard":
			m = &fixedMask{header: []byte{4, 0, 0, 0}}
		case "header-dns":
			h, err := dnsQueryHeader(s.domain)
			if err != nil {
				return nil, err
			}
			m = &dnsMask{header: h}
		case "mkcp-original":
			m = originalMask{}
		case "mkcp-aes128gcm":
			key := sha256.Sum256([]byte(s.password))
			block, err := aes.NewCipher(key[:16])
			if err != nil {
				return nil, err
			}
			aead, err := cipher.NewGCM(block)
			if err != nil {
				return nil, err
			}
			m = gcmMask{aead}
		}
		masks = append(masks, m)
	}
	return masks, nil
}

// maskedSize is the bytes all masks add in front of a payload.
func maskedSize(masks []udpMask) int {
	n := 0
	for _, m := range masks {
		n += m.size()
	}
	return n
}

// wrapDatagram masks payload, which starts maskedSize(masks) bytes into
// buf (those bytes are the room for the headers). It returns the
// datagram to send.
func wrapDatagram(masks []udpMask, buf []byte) ([]byte, error) {
	off := maskedSize(masks)
	p := buf[off:]
	for i := len(masks) - 1; i >= 0; i-- {
		off -= masks[i].size()
		var err error
		if p, err = masks[i].wrap(buf[off : off+masks[i].size()+len(p)]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// unwrapDatagram removes every mask from p, outermost first.
func unwrapDatagram(masks []udpMask, p []byte) ([]byte, error) {
	for _, m := range masks {
		var err error
		if p, err = m.unwrap(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// stripHeader is unwrap for the header-* disguises: Xray does not check
// them, it only drops their bytes.
func stripHeader(p []byte, n int) ([]byte, error) {
	if len(p) < n {
		return nil, fmt.Errorf("%w: shorter than its %d-byte header", errUDPMask, n)
	}
	return p[n:], nil
}

// fixedMask is a header that does not change: header-utp (its
// connection id drawn once) and header-wireguard.
type fixedMask struct{ header []byte }

func (m *fixedMask) size() int                       { return len(m.header) }
func (m *fixedMask) wrap(p []byte) ([]byte, error)   { copy(p, m.header); return p, nil }
func (m *fixedMask) unwrap(p []byte) ([]byte, error) { return stripHeader(p, len(m.header)) }

// srtpMask is header-srtp: 0xB5E8 and a sequence number, incremented
// before each datagram from a random start.
type srtpMask struct{ number uint16 }

func (m *srtpMask) size() int { return 4 }
func (m *srtpMask) wrap(p []byte) ([]byte, error) {
	m.number++
	binary.BigEndian.PutUint16(p, 0xB5E8)
	binary.BigEndian.PutUint16(p[2:], m.number)
	return p, nil
}
func (m *srtpMask) unwrap(p []byte) ([]byte, error) { return stripHeader(p, 4) }

// wechatMask is header-wechat (legacy wechat-video): a serial number
// incremented before each datagram between fixed bytes.
type wechatMask struct{ sn uint32 }

func (m *wechatMask) size() int { return 13 }
func (m *wechatMask) wrap(p []byte) ([]byte, error) {
	m.sn++
	p[0], p[1] = 0xa1, 0x08
	binary.BigEndian.PutUint32(p[2:], m.sn)
	copy(p[6:13], []byte{0x00, 0x10, 0x11, 0x18, 0x30, 0x22, 0x30})
	return p, nil
}
func (m *wechatMask) unwrap(p []byte) ([]byte, error) { return stripHeader(p, 13) }

// dtlsMask is header-dtls: a DTLS 1.2 application-data record header
// with a random epoch, a sequence number from 0, and a length field that
// cycles (+17, wrapped below 100) without relation to the payload.
type dtlsMask struct {
	epoch, length uint16
	sequence      uint32
}

func (m *dtlsMask) size() int { return 13 }
func (m *dtlsMask) wrap(p []byte) ([]byte, error) {
	p[0], p[1], p[2] = 23, 254, 253
	binary.BigEndian.PutUint16(p[3:], m.epoch)
	p[5], p[6] = 0, 0
	binary.BigEndian.PutUint32(p[7:], m.sequence)
	m.sequence++
	binary.BigEndian.PutUint16(p[11:], m.length)
	m.length += 17
	if m.length > 100 {
		m.length -= 50
	}
	return p, nil
}
func (m *dtlsMask) unwrap(p []byte) ([]byte, error) { return stripHeader(p, 13) }

// dnsMask is header-dns: a DNS query header and question for the
// domain, with a random transaction id per datagram.
type dnsMask struct{ header []byte }

func (m *dnsMask) size() int { return len(m.header) }
func (m *dnsMask) wrap(p []byte) ([]byte, error) {
	copy(p, m.header)
	if _, err := rand.Read(p[:2]); err != nil {
		return nil, err
	}
	return p, nil
}
func (m *dnsMask) unwrap(p []byte) ([]byte, error) { return stripHeader(p, len(m.header)) }

// dnsQueryHeader is the fixed part of header-dns: id 0, flags 0x0100
// (standard query, recursion desired), one question for domain, type A,
// class IN. The name is packed as Xray's packDomainName does: labels
// split at dots, a backslash dropped before the character it escapes.
func dnsQueryHeader(domain string) ([]byte, error) {
	h := []byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	name := domain + "."
	var label []byte
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '\\':
			if i+1 < len(name) {
				i++
				label = append(label, name[i])
			}
		case '.':
			if len(label) >= 64 {
				return nil, fmt.Errorf("transport: finalmask header-dns domain %q has a label longer than 63 bytes", domain)
			}
			h = append(h, byte(len(label)))
			h = append(h, label...)
			label = label[:0]
		default:
			label = append(label, c)
		}
		if len(h) > 12+255 {
			return nil, fmt.Errorf("transport: finalmask header-dns domain %q is longer than a DNS name", domain)
		}
	}
	h = append(h, 0)
	return append(h, 0, 1, 0, 1), nil
}

// originalMask is mkcp-original, the integrity check every mKCP applied
// before masks existed: FNV-1a-32 over length(2) ‖ payload, then the
// length, then the payload, the whole XORed forward with itself four
// bytes back.
type originalMask struct{}

func (originalMask) size() int { return 6 }
func (originalMask) wrap(p []byte) ([]byte, error) {
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-6))
	h := fnv.New32a()
	h.Write(p[4:])
	binary.BigEndian.PutUint32(p, h.Sum32())
	for i := 4; i < len(p); i++ {
		p[i] ^= p[i-4]
	}
	return p, nil
}
func (originalMask) unwrap(p []byte) ([]byte, error) {
	if len(p) < 6 {
		return nil, fmt.Errorf("%w: shorter than mkcp-original's 6-byte header", errUDPMask)
	}
	for i := len(p) - 1; i >= 4; i-- {
		p[i] ^= p[i-4]
	}
	h := fnv.New32a()
	h.Write(p[4:])
	if binary.BigEndian.Uint32(p) != h.Sum32() || int(binary.BigEndian.Uint16(p[4:])) != len(p)-6 {
		return nil, fmt.Errorf("%w: mkcp-original checksum mismatch", errUDPMask)
	}
	return p[6:], nil
}

// gcmMask is mkcp-aes128gcm: a random 12-byte nonce, then AES-128-GCM
// (key: the first 16 bytes of SHA-256 of the password) of the rest.
type gcmMask struct{ aead cipher.AEAD }

func (m gcmMask) size() int { return 12 }
func (m gcmMask) wrap(p []byte) ([]byte, error) {
	if cap(p) < len(p)+m.aead.Overhead() {
		return nil, errors.New("transport: no room for the mkcp-aes128gcm tag")
	}
	if _, err := rand.Read(p[:12]); err != nil {
		return nil, err
	}
	out := m.aead.Seal(p[12:12], p[:12], p[12:], nil)
	return p[:12+len(out)], nil
}
func (m gcmMask) unwrap(p []byte) ([]byte, error) {
	if len(p) < 12+m.aead.Overhead() {
		return nil, fmt.Errorf("%w: shorter than mkcp-aes128gcm's nonce and tag", errUDPMask)
	}
	out, err := m.aead.Open(p[12:12], p[:12], p[12:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: mkcp-aes128gcm authentication failed (wrong seed or password?)", errUDPMask)
	}
	return out, nil
}
