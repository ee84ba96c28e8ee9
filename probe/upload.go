package probe

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UploadServer is the URL --upload sends its bytes to: it takes a POST
// body of any size and answers when it has read it.
const UploadServer = "https://speed.cloudflare.com/__up"

// maxUpload bounds an --upload size.
const maxUpload = 10 << 30

// UploadSize reads an upload size such as 10MB or 25MiB (as DownloadURL
// reads one): 1 byte to 10 GiB.
func UploadSize(spec string) (int64, error) {
	n, err := parseSize(strings.TrimSpace(spec))
	if err != nil || n < 1 || n > maxUpload {
		return 0, &OptionError{Option: "UploadBytes", Value: spec, Reason: "want a size between 1 byte and 10 GiB, such as 10MB or 25MiB"}
	}
	return n, nil
}

// Upload is the throughput of one upload through the tunnel: from the
// first body byte written to the server's answer, which the upload server
// sends once it has read the whole body. A failed upload keeps the bytes
// written and the time, but no rate.
type Upload struct {
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	BytesPerS float64 `json:"bytes_per_s,omitempty"`
	// NotMeasured says why nothing was sent (Bytes and Seconds are 0).
	NotMeasured NotMeasured `json:"not_measured,omitempty"`
}

// uploadChunk is how much one write sends.
const uploadChunk = 64 << 10

// upload POSTs UploadBytes zero bytes to the upload URL through e's
// server. Like a download it is not bounded as a whole: each write must
// make progress within Timeout, and so must the answer after the last one.
func (p *prober) upload(ctx context.Context, e *entry, sl *slot) (*Upload, error) {
	u, n := p.uploadURL, p.opts.UploadBytes
	attempt, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	tn, _, err := p.openTunnel(attempt, e, sl, u, sealing{})
	if err != nil {
		return nil, err
	}
	defer tn.close()
	conn, err := p.stream(attempt, tn, u)
	if err != nil {
		return nil, err
	}
	// From here only ctx (Ctrl-C) and the idle deadline apply.
	tn.stop()
	unhook := context.AfterFunc(ctx, func() { tn.raw.SetDeadline(time.Unix(1, 0)) })
	defer unhook()
	tn.raw.SetDeadline(time.Now().Add(p.opts.Timeout))
	if _, err := conn.Write(postHead(u, n)); err != nil {
		return nil, stageOf(tn.clock, err)
	}
	up := &Upload{}
	start := time.Now()
	buf := make([]byte, uploadChunk)
	for up.Bytes < n {
		tn.raw.SetDeadline(time.Now().Add(p.opts.Timeout))
		k := min(int64(len(buf)), n-up.Bytes)
		w, err := conn.Write(buf[:k])
		up.Bytes += int64(w)
		if err != nil {
			up.Seconds = roundTo(time.Since(start).Seconds(), 1e-3)
			if isTimeout(err) && ctx.Err() == nil {
				err = &stallError{bytes: up.Bytes, idle: p.opts.Timeout, err: err}
			}
			return up, &stageError{stageURL, err}
		}
	}
	tn.raw.SetDeadline(time.Now().Add(p.opts.Timeout))
	resp, _, err := readResponse(conn)
	elapsed := time.Since(start)
	up.Seconds = roundTo(elapsed.Seconds(), 1e-3)
	if err != nil {
		return up, stageOf(tn.clock, err)
	}
	if resp.status/100 != 2 {
		return up, &stageError{stageURL, &statusError{status: resp.status, reason: resp.reason}}
	}
	if elapsed > 0 {
		up.BytesPerS = roundTo(float64(n)/elapsed.Seconds(), 1)
	}
	return up, nil
}

// postHead is the head of a POST of n bytes to u.
func postHead(u *url.URL, n int64) []byte {
	return []byte("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: xvm-probe\r\nAccept: */*\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Length: " + strconv.FormatInt(n, 10) + "\r\nConnection: close\r\n\r\n")
}
