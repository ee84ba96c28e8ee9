package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	xconf "github.com/xtls/xray-core/infra/conf"
	"github.com/xtls/xray-core/infra/conf/serial"
	_ "github.com/xtls/xray-core/main/distro/all" // register vmess, transports and masks

	"github.com/xvmtools/xvm/schema/conf"
)

// buildWithXray feeds one outbound, as JSON, to Xray-core's own loader
// (infra/conf v1.260327.0) and returns its error.
func buildWithXray(t *testing.T, o conf.Outbound) error {
	t.Helper()
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var oc xconf.OutboundDetourConfig
	if err := json.Unmarshal(raw, &oc); err != nil {
		return err
	}
	_, err = oc.Build()
	return err
}

// buildConfigWithXray loads a whole config through Xray's JSON, YAML or
// TOML decoder and builds it.
func buildConfigWithXray(t *testing.T, format string, data []byte) error {
	t.Helper()
	var c *xconf.Config
	var err error
	switch format {
	case "json":
		c, err = serial.DecodeJSONConfig(bytes.NewReader(data))
	case "yaml":
		c, err = serial.DecodeYAMLConfig(bytes.NewReader(data))
	case "toml":
		c, err = serial.DecodeTOMLConfig(bytes.NewReader(data))
	default:
		t.Fatalf("unknown format %q", format)
	}
	if err != nil {
		return err
	}
	_, err = c.Build()
	return err
}

func TestSmokeXray(t *testing.T) {
	links := []string{
		"vmess://eyJ2IjoiMiIsInBzIjoidGVzdCIsImFkZCI6ImV4YW1wbGUuY29tIiwicG9ydCI6IjQ0MyIsImlkIjoiYjgzMWJmYjMtZTg0Yy00NjQ3LWE5NTMtYmJkZDZlNmQ2MzkwIiwiYWlkIjoiMCIsIm5ldCI6IndzIiwidHlwZSI6Im5vbmUiLCJob3N0IjoiY2RuLmV4YW1wbGUuY29tIiwicGF0aCI6Ii93cyIsInRscyI6InRscyJ9",
		"vmess://b831bfb3-e84c-4647-a953-bbdd6e6d6390@example.com:443?type=kcp&headerType=wechat-video&seed=abc#k",
	}
	for _, l := range links {
		n, w, err := ParseLink(l)
		if err != nil {
			t.Fatal(err)
		}
		o, w2, err := ToXray(n)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(o)
		t.Logf("%s\n%v %v", b, w, w2)
		if err := buildWithXray(t, o); err != nil {
			t.Fatal(err)
		}
	}
}

// TestXrayTransportTuningRoundTrips: kcpSettings' capacities (0 kept as
// 0: Xray's smallest window, not its default), congestion and
// writeBufferSize, and xhttpSettings members beside host/path/mode
// (carried as extra, which Xray reads the same) come back out of ToXray,
// and Xray's loader builds the result.
func TestXrayTransportTuningRoundTrips(t *testing.T) {
	const id = "b831bfb3-e84c-4647-a953-bbdd6e6d6390"
	for _, tc := range []struct {
		name, stream string
		want         []string // fragments of the written streamSettings
	}{
		{"kcp", `{"network":"kcp","kcpSettings":{"uplinkCapacity":0,"downlinkCapacity":100,"congestion":true,"writeBufferSize":4}}`,
			[]string{`"uplinkCapacity":0`, `"downlinkCapacity":100`, `"congestion":true`, `"writeBufferSize":4`}},
		{"xhttp", `{"network":"xhttp","xhttpSettings":{"path":"/x","mode":"packet-up","xPaddingBytes":"2000-3000","scMaxEachPostBytes":50000}}`,
			[]string{`"extra":{"scMaxEachPostBytes":50000,"xPaddingBytes":"2000-3000"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := `{"outbounds":[{"protocol":"vmess","settings":{"address":"h.test","port":1,"id":"` + id + `"},"streamSettings":` + tc.stream + `}]}`
			res, err := Parse(context.Background(), "c.json", []byte(cfg), Options{})
			if err != nil || len(res.Nodes) != 1 {
				t.Fatalf("%d nodes, %v", len(res.Nodes), err)
			}
			o, _, err := ToXray(res.Nodes[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := buildWithXray(t, o); err != nil {
				t.Fatalf("Xray refuses the output: %v", err)
			}
			raw, _ := json.Marshal(o.StreamSettings)
			for _, w := range tc.want {
				if !bytes.Contains(raw, []byte(w)) {
					t.Errorf("%s lacks %s", raw, w)
				}
			}
		})
	}
}
