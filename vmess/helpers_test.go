package vmess

import (
	"testing"

	"github.com/xvmtools/xvm/vmess/internal/codec"
)

// vecUUID is the user id of the known-answer vectors (see the codec
// package's tests).
const vecUUID = "b831381d-6324-4d53-ad4f-8cda48b30811"

func mustID(t testing.TB, s string) ID {
	t.Helper()
	id, err := ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// zeroReader supplies zero "random" padding so framed bytes are exact.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestOptionBitsMatchCodec: the exported option bits are the ones the
// codec frames with.
func TestOptionBitsMatchCodec(t *testing.T) {
	t.Parallel()
	for _, b := range []struct {
		ours  RequestOptions
		codec byte
	}{
		{OptionChunkStream, codec.OptionChunkStream},
		{OptionChunkMasking, codec.OptionChunkMasking},
		{OptionGlobalPadding, codec.OptionGlobalPadding},
		{OptionAuthenticatedLength, codec.OptionAuthenticatedLength},
	} {
		if byte(b.ours) != b.codec {
			t.Errorf("option %#02x, codec %#02x", b.ours, b.codec)
		}
	}
}
