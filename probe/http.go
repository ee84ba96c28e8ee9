package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// maxResponseHead bounds the status line and headers read from the URL's
// server, so a hostile destination cannot make us allocate without limit.
const maxResponseHead = 64 << 10

// response is the part of the URL's HTTP response a probe uses.
type response struct {
	status int
	reason string
	header http.Header
	// date is the Date header, zero when absent or unreadable.
	date time.Time
	body io.Reader
}

var errHeadTooLong = errors.New("the HTTP response headers exceed 64 KiB")

// readResponse reads the HTTP response head from the tunnel and says when
// its first byte arrived.
func readResponse(r io.Reader) (*response, time.Time, error) {
	// The head may use maxResponseHead bytes (an end of input there is
	// the cap, not the server's); the limit is lifted for the body.
	lr := &io.LimitedReader{R: r, N: maxResponseHead}
	br := bufio.NewReaderSize(lr, 4096)
	if _, err := br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, time.Time{}, errEmptyReply
		}
		return nil, time.Time{}, err
	}
	first := time.Now()
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		if lr.N == 0 {
			return nil, first, fmt.Errorf("%w: %w", errBadReply, errHeadTooLong)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, first, fmt.Errorf("%w: the reply ended inside the HTTP headers", errBadReply)
		}
		if isTimeout(err) {
			return nil, first, err
		}
		return nil, first, fmt.Errorf("%w: %v", errBadReply, err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 999 {
		return nil, first, fmt.Errorf("%w: status %d", errBadReply, resp.StatusCode)
	}
	lr.N = math.MaxInt64
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	return &response{status: resp.StatusCode, reason: strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode)+" "),
		header: resp.Header, date: date, body: resp.Body}, first, nil
}

var (
	// errEmptyReply: the tunnel closed right after the VMess response
	// header, without data: the server could not reach the destination.
	errEmptyReply = errors.New("the server closed the tunnel without any data from the destination")
	// errBadReply: the destination's answer is not HTTP.
	errBadReply = errors.New("the URL's server did not answer HTTP")
)
