package convert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/xvmtools/xvm/convert"
)

func ExampleParseLink() {
	n, warns, err := convert.ParseLink("vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@example.com:443?type=ws&security=tls&host=cdn.example.com&path=%2Fws#HK%2001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Name, n.Server, n.Port, n.Network, n.Security, n.Host, n.Path, len(warns))
	// Output: HK 01 example.com 443 ws tls cdn.example.com /ws 0
}

func ExampleToXray() {
	n, _, _ := convert.ParseLink("vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@example.com:443?type=grpc&security=tls&serviceName=svc&authority=a.example.com#g")
	o, warns, err := convert.ToXray(n)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(o.StreamSettings)
	fmt.Println(string(b), len(warns))
	// Output: {"network":"grpc","security":"tls","tlsSettings":{"serverName":"a.example.com"},"grpcSettings":{"serviceName":"svc","authority":"a.example.com"}} 0
}

func ExampleEmit() {
	sub := []byte(`# my servers
vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@a.example.com:443?type=ws&security=tls&path=%2Fws#A
ss://YWVzLTEyOC1nY206cGFzcw@example.com:8388#not-vmess
vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@b.example.com:443?type=kcp&seed=s#B
`)
	res, err := convert.Parse(context.Background(), "servers.txt", sub, convert.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, diags, _ := convert.Emit(res.Nodes, convert.ToURILink, convert.EmitOptions{NameTemplate: "{index}-{name}"})
	os.Stdout.Write(out)
	for _, d := range append(res.Diagnostics, diags...) {
		fmt.Println(d)
	}
	// Output:
	// vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@a.example.com:443?type=ws&security=tls&path=%2Fws#1-A
	// vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@b.example.com:443?type=kcp&seed=s#2-B
	// servers.txt:3: info: ss:// is not VMess; skipped
}
