package transport_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
)

// Dial a VMess server behind TLS and WebSocket with early data, then run
// the VMess client over the stream.
func ExampleDial() {
	cfg := &transport.Config{
		Address:  "vmess.example.com",
		Port:     443,
		Network:  "ws",
		Security: "tls",
		TLS:      transport.TLSConfig{ServerName: "cdn.example.com", Fingerprint: "chrome"},
		WS:       transport.WSConfig{Path: "/ray?ed=2048", Host: "cdn.example.com"},
	}
	trace := &transport.Trace{PhaseDone: func(p transport.Phase, start, end time.Time) {
		fmt.Printf("%s took %v\n", p, end.Sub(start))
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, trace)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) {
			fmt.Printf("failed in phase %s (timeout %v, refused %v)\n", te.Phase, te.Timeout(), te.Refused())
		}
		return
	}
	defer conn.Close()
	id, _ := vmess.ParseID("b831381d-6324-4d53-ad4f-8cda48b30811")
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM},
		vmess.Destination{Network: vmess.NetworkTCP, Host: "www.gstatic.com", Port: 80}, nil)
	if err != nil {
		return
	}
	vc.Write([]byte("GET /generate_204 HTTP/1.1\r\nHost: www.gstatic.com\r\n\r\n"))
}
