package lsp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/xvmtools/xvm/schema"
)

// Limits on what the client may send: a message carries at most one whole
// document (which lint caps at schema.MaxSize), JSON-escaped.
const (
	maxMessage     = 6*schema.MaxSize + 1<<20
	maxHeaderLine  = 4 << 10
	maxHeaderLines = 32
)

// ErrMessage is the kind of error a malformed message from the client
// gives: Serve stops, because the byte stream can no longer be trusted.
var ErrMessage = errors.New("lsp: malformed message")

// message is one JSON-RPC 2.0 message as read: a request (id and method),
// a notification (method only) or a response (id, result or error).
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// JSON-RPC and LSP error codes.
const (
	codeParseError           = -32700
	codeInvalidRequest       = -32600
	codeMethodNotFound       = -32601
	codeInvalidParams        = -32602
	codeServerNotInitialized = -32002
	codeRequestFailed        = -32803
	codeRequestCancelled     = -32800
)

// readMessage reads one message framed by LSP's base protocol: headers
// ("Content-Length: N"), an empty line, and N bytes of JSON.
func readMessage(r *bufio.Reader) (*message, error) {
	length := -1
	for i := 0; ; i++ {
		if i >= maxHeaderLines {
			return nil, fmt.Errorf("%w: more than %d header lines", ErrMessage, maxHeaderLines)
		}
		line, err := readLine(r)
		if err != nil {
			if i == 0 && errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: header line %q has no colon", ErrMessage, clip(line))
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: bad Content-Length %q", ErrMessage, clip(value))
			}
			if n > maxMessage {
				return nil, fmt.Errorf("%w: Content-Length %d is over the %d-byte limit", ErrMessage, n, maxMessage)
			}
			length = n
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("%w: no Content-Length header", ErrMessage)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: body cut short: %v", ErrMessage, err)
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return &message{Error: &rpcError{Code: codeParseError, Message: "not JSON: " + err.Error()}}, nil
	}
	return &m, nil
}

// readLine reads one header line of at most maxHeaderLine bytes, without
// its CRLF (a bare LF is accepted too).
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxHeaderLine {
			return "", fmt.Errorf("%w: header line over %d bytes", ErrMessage, maxHeaderLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// conn writes messages to the client; the server's goroutines share it.
type conn struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *conn) write(v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = c.w.Write(b.Bytes())
	return err
}

// response is a reply to a request; exactly one of Result and Error is
// sent (Result may be null).
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
}

type errorResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcError        `json:"error"`
}

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

func (c *conn) reply(id json.RawMessage, result any) error {
	return c.write(response{JSONRPC: "2.0", ID: id, Result: result})
}

func (c *conn) replyError(id json.RawMessage, code int, msg string) error {
	if id == nil {
		id = json.RawMessage("null")
	}
	return c.write(errorResponse{JSONRPC: "2.0", ID: id, Error: rpcError{Code: code, Message: msg}})
}

func (c *conn) notify(method string, params any) error {
	return c.write(notification{JSONRPC: "2.0", Method: method, Params: params})
}
