package probe_test

import (
	"context"
	"fmt"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe"
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

// An Xray config goes the way of every input: convert reads its VMess
// outbounds into nodes, and each node becomes a probe target.
func ExampleTargetFromNode_xray() {
	config := `{"outbounds":[{"protocol":"vmess","tag":"tokyo",
		"settings":{"vnext":[{"address":"jp.example.net","port":443,
			"users":[{"id":"b831381d-6324-4d53-ad4f-8cda48b30811","security":"auto"}]}]},
		"streamSettings":{"network":"ws","security":"tls","wsSettings":{"path":"/v?ed=2048"},
			"tlsSettings":{"serverName":"jp.example.net"}}}]}`
	res, err := convert.Parse(context.Background(), "config.json", []byte(config), convert.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range res.Nodes {
		t := probe.TargetFromNode(n)
		fmt.Println(t.Name, t.Stream.Address, t.Stream.Port, t.Stream.Network, t.Stream.Security, t.Stream.WS.Path, t.Validate())
	}
	// Output:
	// tokyo jp.example.net 443 ws tls /v?ed=2048 <nil>
}

// A share link read by convert becomes a probe target; Validate tells
// whether it can be probed at all.
func ExampleTargetFromNode() {
	link := "vmess://eyJ2IjoiMiIsInBzIjoidG9reW8iLCJhZGQiOiJqcC5leGFtcGxlLm5ldCIsInBvcnQiOiI0NDMiLCJpZCI6ImI4MzEzODFkLTYzMjQtNGQ1My1hZDRmLThjZGE0OGIzMDgxMSIsImFpZCI6IjAiLCJzY3kiOiJhdXRvIiwibmV0Ijoid3MiLCJwYXRoIjoiL3dzIiwiaG9zdCI6ImNkbi5leGFtcGxlLm5ldCIsInRscyI6InRscyIsInNuaSI6ImpwLmV4YW1wbGUubmV0In0="
	res, err := convert.Parse(context.Background(), "link", []byte(link), convert.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range res.Nodes {
		t := probe.TargetFromNode(n)
		fmt.Println(t.Name, t.Stream.Address, t.Stream.Port, t.Stream.Network, t.Stream.Security, t.Stream.WS.Host, t.Stream.TLS.ServerName, t.Validate())
	}
	// Output:
	// tokyo jp.example.net 443 ws tls cdn.example.net jp.example.net <nil>
}
