package codec

import (
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha3"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// MaxChunk is the largest chunk (length field, sealed data and padding)
// the writer produces: Xray's buffer size. Xray's server silently drops
// UDP chunks above it and sing-box's reader is only safe up to twice it.
const MaxChunk = 8192

// MaxPadding is one more than the largest global padding (0–63 bytes).
const MaxPadding = 64

// shakeStream is the SHAKE128(IV) stream that masks lengths and draws
// padding lengths, squeezed a block at a time so each 2-byte draw is cheap.
type shakeStream struct {
	s   *sha3.SHAKE
	buf [168]byte // SHAKE128's rate; even, so 2-byte draws never straddle
	off int
}

func newShakeStream(iv [16]byte) *shakeStream {
	s := sha3.NewSHAKE128()
	s.Write(iv[:])
	return &shakeStream{s: s, off: len(shakeStream{}.buf)}
}

// next returns the next big-endian uint16 of the stream.
func (s *shakeStream) next() uint16 {
	if s.off == len(s.buf) {
		s.s.Read(s.buf[:])
		s.off = 0
	}
	v := binary.BigEndian.Uint16(s.buf[s.off:])
	s.off += 2
	return v
}

// bodyMode is how one direction of the body is framed.
type bodyMode uint8

const (
	// modeRaw: no framing; the end is the connection's end.
	modeRaw bodyMode = iota
	// modeStream: security none with S over TCP: [length][data], the
	// length masked with M; padding is ignored, as Xray does; EOS is 0.
	modeStream
	// modeChunk: [length field][sealed data][padding], AEAD-sealed,
	// plain (none over UDP) or FNV-checked (legacy aes-128-cfb).
	modeChunk
)

// BodyState is one direction's framing state: ciphers, nonce counters and
// the SHAKE stream. It is used by a single goroutine at a time.
type BodyState struct {
	mode     bodyMode
	aead     cipher.AEAD // nil for none and legacy FNV
	fnv      bool        // legacy aes-128-cfb: 4-byte FNV-1a before data
	overhead int         // bytes the seal adds: 16 (AEAD), 4 (FNV), 0
	nonce    [12]byte    // uint16 counter ‖ IV[2:12]
	count    uint16

	lenAEAD  cipher.AEAD // A: sealed lengths
	lenNonce [12]byte
	lenCount uint16

	shake *shakeStream // M or P
	mask  bool
	pad   bool

	cfb cipher.Stream // legacy aes-128-cfb: the whole direction is CFB

	// scratch holds a length field; it lives here, not on the stack,
	// because passing it to an interface method would move it to the heap
	// on every chunk.
	scratch [18]byte
	// rand fills padding bytes (writer only).
	rand io.Reader
}

// sizeBytes is the length of the length field.
func (b *BodyState) sizeBytes() int {
	if b.lenAEAD != nil {
		return 2 + 16
	}
	return 2
}

// MaxPayload is the most plaintext one chunk carries so that the whole
// chunk stays within MaxChunk.
func (b *BodyState) MaxPayload() int {
	switch b.mode {
	case modeStream:
		return MaxChunk
	case modeChunk:
		n := MaxChunk - b.overhead - b.sizeBytes()
		if b.pad {
			n -= MaxPadding
		}
		return n
	}
	return MaxChunk
}

// Chunked reports whether every write is one length-framed chunk, so a
// UDP datagram must fit MaxPayload.
func (b *BodyState) Chunked() bool { return b.mode == modeChunk }

// Passthrough reports whether body bytes go out as they are (security
// zero: no framing, no encryption).
func (b *BodyState) Passthrough() bool { return b.mode == modeRaw && b.cfb == nil }

// ContinueStream makes a legacy aes-128-cfb body continue s, the stream
// that decrypted the response header; other bodies ignore it.
func (b *BodyState) ContinueStream(s cipher.Stream) {
	if b.cfb != nil {
		b.cfb = s
	}
}

// BodyParams select a direction's framing.
type BodyParams struct {
	// Security is the wire nibble: SecurityAES128GCM,
	// SecurityChaCha20Poly1305, SecurityNone (also for Xray's "zero",
	// whose options byte is 0) or SecurityLegacyAES128CFB.
	Security byte
	// Options is the request options byte.
	Options byte
	// UDP frames every datagram as one chunk, also for security none.
	UDP     bool
	Key, IV [16]byte // this direction's body key and IV
	ReqKey  [16]byte // the request key and IV: auth-length keys come
	ReqIV   [16]byte // from the request side in both directions
	// Rand fills padding bytes; the writer needs it.
	Rand io.Reader
}

// NewBodyState builds one direction's framing state, refusing the option
// combinations Xray cannot frame.
func NewBodyState(p BodyParams, decrypt bool) (*BodyState, error) {
	o := p.Options
	if has(o, OptionGlobalPadding) && !has(o, OptionChunkMasking) {
		return nil, errors.New("vmess: option global padding (P, 0x08) needs chunk masking (M, 0x04); Xray refuses P alone")
	}
	b := &BodyState{rand: p.Rand}
	copy(b.nonce[2:], p.IV[2:12])
	if has(o, OptionChunkMasking) || has(o, OptionGlobalPadding) {
		b.shake = newShakeStream(p.IV)
	}
	b.mask = has(o, OptionChunkMasking)
	b.pad = has(o, OptionGlobalPadding)
	switch p.Security {
	case SecurityAES128GCM, SecurityChaCha20Poly1305:
		b.mode = modeChunk
		b.overhead = 16
		b.aead = newBodyAEAD(p.Security, p.Key)
		if has(o, OptionAuthenticatedLength) {
			b.lenAEAD = newBodyAEAD(p.Security, KDF16(p.ReqKey[:], []byte(kdfAuthLen)))
			copy(b.lenNonce[2:], p.ReqIV[2:12])
		}
	case SecurityNone:
		switch {
		case !has(o, OptionChunkStream):
			b.mode = modeRaw
		case p.UDP:
			b.mode = modeChunk
		default:
			b.mode = modeStream
			b.pad = false // Xray ignores P for none over TCP
		}
	case SecurityLegacyAES128CFB:
		if decrypt {
			b.cfb = NewCFBDecrypter(p.Key, p.IV)
		} else {
			b.cfb = newCFBEncrypter(p.Key, p.IV)
		}
		if has(o, OptionChunkStream) {
			b.mode = modeChunk
			b.fnv = true
			b.overhead = 4
		} else {
			b.mode = modeRaw
		}
	default:
		return nil, fmt.Errorf("vmess: security %d cannot frame a body", p.Security)
	}
	return b, nil
}

// newBodyAEAD returns the body AEAD of an AEAD security under a 16-byte
// key: AES-128-GCM, or ChaCha20-Poly1305 under its expanded key.
func newBodyAEAD(sec byte, key [16]byte) cipher.AEAD {
	if sec == SecurityAES128GCM {
		return newGCM(key[:])
	}
	return newChaCha(key)
}

// newChaCha returns ChaCha20-Poly1305 under VMess's 32-byte expansion of a
// 16-byte key: MD5(k) ‖ MD5(MD5(k)).
func newChaCha(k [16]byte) cipher.AEAD {
	key := ChaChaKey(k)
	a, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic(err)
	}
	return a
}

// ChaChaKey expands a 16-byte body key to the 32-byte ChaCha20-Poly1305
// key VMess uses: MD5(k) ‖ MD5(MD5(k)).
func ChaChaKey(k [16]byte) [32]byte {
	var out [32]byte
	a := md5.Sum(k[:])
	b := md5.Sum(a[:])
	copy(out[:16], a[:])
	copy(out[16:], b[:])
	return out
}

// nextNonce returns the payload nonce for this chunk and advances it.
func (b *BodyState) nextNonce() []byte {
	binary.BigEndian.PutUint16(b.nonce[:2], b.count)
	b.count++
	return b.nonce[:]
}

func (b *BodyState) nextLenNonce() []byte {
	binary.BigEndian.PutUint16(b.lenNonce[:2], b.lenCount)
	b.lenCount++
	return b.lenNonce[:]
}

// AppendChunk appends one framed chunk carrying payload (which may be
// empty only for the end-of-stream chunk) to dst.
func (b *BodyState) AppendChunk(dst, payload []byte) ([]byte, error) {
	start := len(dst)
	switch b.mode {
	case modeRaw:
		dst = append(dst, payload...)
	case modeStream:
		v := uint16(len(payload))
		if b.mask {
			v ^= b.shake.next()
		}
		dst = binary.BigEndian.AppendUint16(dst, v)
		dst = append(dst, payload...)
	case modeChunk:
		padLen := 0
		if b.pad {
			padLen = int(b.shake.next() % MaxPadding)
		}
		value := b.overhead + len(payload) + padLen
		if b.sizeBytes()+value > MaxChunk {
			return dst, fmt.Errorf("vmess: a chunk of %d payload bytes is larger than the %d a VMess chunk carries", len(payload), b.MaxPayload())
		}
		switch {
		case b.lenAEAD != nil:
			l := b.scratch[:2]
			binary.BigEndian.PutUint16(l, uint16(value-16))
			dst = b.lenAEAD.Seal(dst, b.nextLenNonce(), l, nil)
		case b.mask:
			dst = binary.BigEndian.AppendUint16(dst, uint16(value)^b.shake.next())
		default:
			dst = binary.BigEndian.AppendUint16(dst, uint16(value))
		}
		switch {
		case b.aead != nil:
			dst = b.aead.Seal(dst, b.nextNonce(), payload, nil)
		case b.fnv:
			h := fnv.New32a()
			h.Write(payload)
			dst = binary.BigEndian.AppendUint32(dst, h.Sum32())
			dst = append(dst, payload...)
		default:
			dst = append(dst, payload...)
		}
		if padLen > 0 {
			n := len(dst)
			var zero [MaxPadding]byte
			dst = append(dst, zero[:padLen]...)
			if _, err := io.ReadFull(b.rand, dst[n:]); err != nil {
				return dst[:start], fmt.Errorf("vmess: random padding: %w", err)
			}
		}
	}
	if b.cfb != nil {
		b.cfb.XORKeyStream(dst[start:], dst[start:])
	}
	return dst, nil
}

// AppendEOS appends the end-of-stream chunk, if the framing has one.
func (b *BodyState) AppendEOS(dst []byte) ([]byte, error) {
	if b.mode == modeRaw {
		return dst, nil
	}
	return b.AppendChunk(dst, nil)
}

// NewBodyReader reads the body framed by st from src.
func NewBodyReader(st *BodyState, src io.Reader) *BodyReader {
	return &BodyReader{st: st, src: src}
}

// BodyReader reads one direction of framed body.
type BodyReader struct {
	st   *BodyState
	src  io.Reader
	buf  []byte // one chunk, grown on demand up to 65535 bytes
	rest []byte // opened bytes not yet returned
	left int    // modeStream: unread bytes of the current chunk
	eof  bool
	err  error // sticky
}

// errTruncated marks a body cut off inside a chunk.
func errTruncated(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: body truncated inside a chunk %s: %w", ErrProtocol, what, io.ErrUnexpectedEOF)
	}
	return err
}

// readFull reads exactly len(p) bytes from src, passing CFB when set.
func (r *BodyReader) readFull(p []byte) (int, error) {
	n, err := io.ReadFull(r.src, p)
	if r.st.cfb != nil && n > 0 {
		r.st.cfb.XORKeyStream(p[:n], p[:n])
	}
	return n, err
}

// readLength reads a length field into f. A clean end before any byte is
// io.EOF (closed at a chunk boundary without EOS), a timeout before any
// byte is a retryableError (nothing consumed), anything else a truncated
// chunk.
func (r *BodyReader) readLength(f []byte) error {
	n, err := r.readFull(f)
	switch {
	case err == nil:
		return nil
	case n == 0 && errors.Is(err, io.EOF):
		return io.EOF
	case n == 0 && IsTimeout(err):
		return retryableError{err}
	}
	return errTruncated("length", err)
}

// readHeader reads the next chunk's length field and padding. It returns
// the sealed data length and padding length, or io.EOF at EOS.
func (r *BodyReader) readHeader() (data, padLen int, err error) {
	st := r.st
	fb := st.scratch[:st.sizeBytes()]
	if err := r.readLength(fb); err != nil {
		return 0, 0, err
	}
	if st.pad {
		padLen = int(st.shake.next() % MaxPadding)
	}
	var value int
	switch {
	case st.lenAEAD != nil:
		l, err := st.lenAEAD.Open(fb[:0], st.nextLenNonce(), fb, nil)
		if err != nil {
			return 0, 0, errProtocol("chunk length failed authentication")
		}
		value = int(binary.BigEndian.Uint16(l)) + 16
	case st.mask:
		value = int(binary.BigEndian.Uint16(fb) ^ st.shake.next())
	default:
		value = int(binary.BigEndian.Uint16(fb))
	}
	if value == st.overhead+padLen {
		return 0, 0, errEOS
	}
	if value < st.overhead+padLen {
		return 0, 0, errProtocol("chunk length %d is shorter than its %d-byte tag and %d-byte padding", value, st.overhead, padLen)
	}
	return value - padLen, padLen, nil
}

// retryableError wraps a timeout that struck between chunks: no byte was
// consumed, so the stream is intact and a later Read may resume.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// setErr records err as the reader's sticky error unless it is
// retryable, and returns the error to give the caller.
func (r *BodyReader) setErr(err error) error {
	if err == errEOS {
		err = io.EOF
	}
	var re retryableError
	if errors.As(err, &re) {
		return re.err
	}
	r.err = err
	return err
}

// errEOS is the internal end-of-stream signal.
var errEOS = errors.New("vmess: end of stream")

// grow returns r.buf with at least n bytes; n is at most 65535+16, so the
// bound comes from the wire format itself.
func (r *BodyReader) grow(n int) []byte {
	if cap(r.buf) < n {
		c := 2 * cap(r.buf)
		if c < n {
			c = n
		}
		if c < MaxChunk {
			c = MaxChunk
		}
		r.buf = make([]byte, c)
	}
	return r.buf[:n]
}

// next reads the next chunk and returns its plaintext. When dst is large
// enough the plaintext is opened straight into dst; otherwise it is a view
// into r.buf valid until the next call.
func (r *BodyReader) next(dst []byte) ([]byte, error) {
	st := r.st
	data, padLen, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	if plain, ok, err := r.openBuffered(dst, data, padLen); ok || err != nil {
		return plain, err
	}
	b := r.grow(data + padLen)
	if _, err := r.readFull(b); err != nil {
		return nil, errTruncated("payload", err)
	}
	sealed := b[:data]
	switch {
	case st.aead != nil:
		out := sealed[:0]
		if len(dst) >= data-st.overhead {
			out = dst[:0]
		}
		plain, err := st.aead.Open(out, st.nextNonce(), sealed, nil)
		if err != nil {
			return nil, errProtocol("chunk failed authentication (corrupted or not our keys)")
		}
		return plain, nil
	case st.fnv:
		h := fnv.New32a()
		h.Write(sealed[4:])
		if h.Sum32() != binary.BigEndian.Uint32(sealed[:4]) {
			return nil, errProtocol("legacy chunk checksum mismatch")
		}
		return sealed[4:], nil
	}
	return sealed, nil
}

// peeker is a buffered source (a *bufio.Reader) whose bytes can be used
// where they lie.
type peeker interface {
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
}

// openBuffered opens an AEAD chunk straight from the source's buffer
// into dst, saving the copy into r.buf, when the source is buffered, the
// chunk fits its buffer and dst holds the plaintext. ok is false (and
// nothing consumed) when it cannot; next then reads the chunk as usual.
func (r *BodyReader) openBuffered(dst []byte, data, padLen int) (plain []byte, ok bool, err error) {
	st := r.st
	pk, buffered := r.src.(peeker)
	if !buffered || st.aead == nil || st.cfb != nil || len(dst) < data-st.overhead {
		return nil, false, nil
	}
	b, perr := pk.Peek(data + padLen)
	if perr != nil {
		return nil, false, nil // too large for the buffer, or cut short: read it as usual
	}
	plain, err = st.aead.Open(dst[:0], st.nextNonce(), b[:data], nil)
	pk.Discard(data + padLen)
	if err != nil {
		return nil, true, errProtocol("chunk failed authentication (corrupted or not our keys)")
	}
	return plain, true, nil
}

// Read reads body bytes with stream semantics.
func (r *BodyReader) Read(p []byte) (int, error) {
	if len(r.rest) > 0 {
		n := copy(p, r.rest)
		r.rest = r.rest[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	switch r.st.mode {
	case modeRaw:
		n, err := r.src.Read(p)
		if r.st.cfb != nil && n > 0 {
			r.st.cfb.XORKeyStream(p[:n], p[:n])
		}
		if err != nil {
			r.err = err
		}
		return n, err
	case modeStream:
		if r.left == 0 {
			f := r.st.scratch[:2]
			if err := r.readLength(f); err != nil {
				return 0, r.setErr(err)
			}
			v := binary.BigEndian.Uint16(f)
			if r.st.mask {
				v ^= r.st.shake.next()
			}
			if v == 0 {
				r.err = io.EOF
				return 0, io.EOF
			}
			r.left = int(v)
		}
		if len(p) > r.left {
			p = p[:r.left]
		}
		n, err := r.src.Read(p)
		r.left -= n
		if err != nil && (r.left > 0 || !errors.Is(err, io.EOF)) {
			r.err = errTruncated("payload", err)
			if n > 0 {
				return n, nil
			}
			return 0, r.err
		}
		return n, nil
	}
	for {
		plain, err := r.next(p)
		if err != nil {
			return 0, r.setErr(err)
		}
		if len(plain) == 0 {
			continue // an empty non-EOS chunk cannot occur with AEAD; skip it
		}
		if &plain[0] == &p[0] {
			return len(plain), nil
		}
		n := copy(p, plain)
		r.rest = plain[n:]
		return n, nil
	}
}

// ReadPacket reads one datagram (one chunk) into p. A datagram longer than
// p is truncated to len(p) and io.ErrShortBuffer is returned with it; the
// rest is discarded so the next call starts at the next datagram.
func (r *BodyReader) ReadPacket(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.st.mode != modeChunk {
		return r.Read(p) // zero/none without S: boundaries are lost
	}
	plain, err := r.next(p)
	if err != nil {
		return 0, r.setErr(err)
	}
	if len(plain) > 0 && len(p) > 0 && &plain[0] == &p[0] {
		return len(plain), nil
	}
	n := copy(p, plain)
	if n < len(plain) {
		return n, io.ErrShortBuffer
	}
	return n, nil
}
