//go:build race

package transport_test

// xrayRaceFree is false under the race detector: Xray-core's own
// WebSocket early-data client (transport/internet/websocket delayDialConn)
// reads and writes its Conn field from two goroutines without
// synchronisation, and so do its XHTTP client (splithttp WaitReadCloser),
// its packet-up server (uploadQueue's closed field) and its mKCP server
// (ReceivingWorker's leftOver, read outside its lock), so any test that
// runs them reports races that are not ours. TestAgainstXrayProcess
// covers our side of those under -race, with Xray in a child process.
const xrayRaceFree = false
