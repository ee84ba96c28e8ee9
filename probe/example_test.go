package probe_test

import (
	"encoding/json"
	"fmt"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/schema/conf"
)

// A --download value is a size or a URL.
func ExampleDownloadURL() {
	u, _ := probe.DownloadURL("25MiB")
	fmt.Println(u)
	u, _ = probe.DownloadURL("http://192.0.2.7/file.bin")
	fmt.Println(u)
	// Output:
	// https://speed.cloudflare.com/__down?bytes=26214400
	// http://192.0.2.7/file.bin
}

// An Xray outbound (as convert produces it) becomes a probe target.
func ExampleTargetFromOutbound() {
	var o conf.Outbound
	json.Unmarshal([]byte(`{"protocol":"vmess","tag":"tokyo",
		"settings":{"vnext":[{"address":"jp.example.net","port":443,
			"users":[{"id":"b831381d-6324-4d53-ad4f-8cda48b30811","security":"auto"}]}]},
		"streamSettings":{"network":"ws","security":"tls","wsSettings":{"path":"/v?ed=2048"},
			"tlsSettings":{"serverName":"jp.example.net"}}}`), &o)
	t, err := probe.TargetFromOutbound(&o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Name, t.Stream.Address, t.Stream.Port, t.Stream.Network, t.Stream.Security, t.Stream.WS.Path, t.Validate())
	// Output:
	// tokyo jp.example.net 443 ws tls /v?ed=2048 <nil>
}
