//go:build race

package transport_test

// xrayRaceFree is false under the race detector: Xray-core's own
// WebSocket early-data client (transport/internet/websocket delayDialConn)
// reads and writes its Conn field from two goroutines without
// synchronisation, and so do its XHTTP client (splithttp WaitReadCloser)
// and its packet-up server (uploadQueue's closed field), so any test that
// runs them reports races that are not ours.
const xrayRaceFree = false
