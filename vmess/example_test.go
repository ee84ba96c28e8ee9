package vmess_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// Example connects to a VMess server (here an in-process Xray-core on
// loopback) and talks to an echo service behind it.
func Example() {
	// An echo service for the server to reach.
	echo, _ := net.Listen("tcp", "127.0.0.1:0")
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	// An in-process Xray-core VMess server (vmesstest keeps Xray's
	// load-time warnings off stdout).
	srv, err := vmesstest.NewServer(vmesstest.ServerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	// The client side: any net.Conn to the server works (TCP here; TLS,
	// WebSocket … come from vmess/transport).
	id, err := vmess.ParseID(srv.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer raw.Close()
	host, port, _ := net.SplitHostPort(echo.Addr().String())
	p, _ := strconv.Atoi(port)
	conn, err := vmess.Client(raw,
		vmess.Account{ID: id, Security: vmess.SecurityAES128GCM},
		vmess.Destination{Network: vmess.NetworkTCP, Host: host, Port: uint16(p)},
		nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))

	// The first Write carries the sealed request header and the data.
	fmt.Fprint(conn, "hello, vmess")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		fmt.Println("rejected:", err)
		return
	}
	reply := make([]byte, len("hello, vmess"))
	if _, err := io.ReadFull(conn, reply); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(reply))
	// Output: hello, vmess
}

// ExampleParseID shows how configured ids map to 16 bytes, as Xray maps
// them: UUIDs in any hex case, and short names through UUIDv5.
func ExampleParseID() {
	for _, s := range []string{"B831381D-6324-4D53-AD4F-8CDA48B30811", "hello"} {
		id, err := vmess.ParseID(s)
		fmt.Println(id, err)
	}
	fmt.Println(vmess.MaskID("b831381d-6324-4d53-ad4f-8cda48b30811"))
	// Output:
	// b831381d-6324-4d53-ad4f-8cda48b30811 <nil>
	// b7502f40-1152-59f2-ba10-69aeed522cdf <nil>
	// b831…0811
}
