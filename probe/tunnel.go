package probe

import (
	"crypto/rand"
	"fmt"
	"io"
)

// readCapped reads r to the end, failing past max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the answer is over %d bytes", max)
	}
	return b, nil
}

// random fills b from the run's random source.
func (p *prober) random(b []byte) (int, error) {
	if p.opts.Rand != nil {
		return io.ReadFull(p.opts.Rand, b)
	}
	return rand.Read(b)
}
