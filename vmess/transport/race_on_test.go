//go:build race

package transport_test

// xrayRaceFree is false under the race detector: Xray-core's own
// WebSocket early-data client (transport/internet/websocket delayDialConn)
// reads and writes its Conn field from two goroutines without
// synchronisation, so any test that runs Xray's ws+ed outbound reports
// that race, which is not ours.
const xrayRaceFree = false
