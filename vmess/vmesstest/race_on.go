//go:build race

package vmesstest

// XrayRaceFree is false under the race detector: Xray-core's own
// WebSocket early-data client (transport/internet/websocket delayDialConn)
// reads and writes its Conn field from two goroutines without
// synchronisation, and so do its XHTTP client (splithttp WaitReadCloser),
// its packet-up server (uploadQueue's closed field) and its mKCP server
// (ReceivingWorker's leftOver, read outside its lock), so a test that runs
// them in-process reports races that are not xvm's. Such tests run them
// in the default run; under -race, StartServerProcess puts Xray in a child
// process where that is enough.
const XrayRaceFree = false
