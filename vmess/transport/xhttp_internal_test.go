package transport

import (
	"encoding/json"
	"testing"

	"github.com/xtls/xray-core/infra/conf"
)

// TestXHTTPExtraAsXray loads xhttpSettings JSON with Xray's own loader
// (infra/conf SplitHTTPConfig.Build) and checks that Dial reads "extra"
// the same way: extra replaces everything but host, path and mode.
func TestXHTTPExtraAsXray(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		cfg        XHTTPConfig
	}{
		{"extra-replaces-headers", `{"path":"/x","headers":{"A":"outer"},"extra":{"headers":{"B":"inner"},"xPaddingBytes":"10-20","noGRPCHeader":true,"scMaxEachPostBytes":500000,"scMinPostsIntervalMs":"5-9","xmux":{"hMaxRequestTimes":7,"hKeepAlivePeriod":-1}}}`,
			XHTTPConfig{Path: "/x", Headers: map[string]string{"A": "outer"}, Extra: []byte(`{"headers":{"B":"inner"},"xPaddingBytes":"10-20","noGRPCHeader":true,"scMaxEachPostBytes":500000,"scMinPostsIntervalMs":"5-9","xmux":{"hMaxRequestTimes":7,"hKeepAlivePeriod":-1}}`)}},
		{"extra-empty-drops-outer", `{"path":"/x","mode":"stream-up","xPaddingBytes":30,"extra":{}}`,
			XHTTPConfig{Path: "/x", Mode: "stream-up", XPaddingBytes: Range{From: 30, To: 30}, Extra: []byte(`{}`)}},
		{"extra-case-insensitive", `{"path":"/x","extra":{"XPADDINGBYTES":"-5-7"}}`,
			XHTTPConfig{Path: "/x", Extra: []byte(`{"XPADDINGBYTES":"-5-7"}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var xc conf.SplitHTTPConfig
			if err := json.Unmarshal([]byte(tt.json), &xc); err != nil {
				t.Fatal(err)
			}
			_, xerr := xc.Build()
			_, err := (&Config{Address: "a", XHTTP: tt.cfg}).xhttpPlan(false)
			got := tt.cfg
			if err == nil {
				err = got.applyExtra()
			}
			if (err == nil) != (xerr == nil) {
				t.Fatalf("Dial's reading: %v; Xray's: %v", err, xerr)
			}
			if xerr != nil {
				return
			}
			// Xray's loader fills its defaults (xmux) into the result;
			// compare what the client sends from.
			var x struct {
				Headers              map[string]string `json:"headers"`
				XPaddingBytes        json.RawMessage   `json:"xPaddingBytes"`
				NoGRPCHeader         bool              `json:"noGRPCHeader"`
				ScMaxEachPostBytes   json.RawMessage   `json:"scMaxEachPostBytes"`
				ScMinPostsIntervalMs json.RawMessage   `json:"scMinPostsIntervalMs"`
			}
			src := []byte(tt.json)
			if xc.Extra != nil {
				src = xc.Extra
			}
			json.Unmarshal(src, &x)
			if !mapsEqual(got.Headers, x.Headers) || got.NoGRPCHeader != x.NoGRPCHeader {
				t.Errorf("headers %v / noGRPCHeader %v, Xray %v / %v", got.Headers, got.NoGRPCHeader, x.Headers, x.NoGRPCHeader)
			}
			for _, r := range []struct {
				name string
				ours Range
				raw  json.RawMessage
			}{{"xPaddingBytes", got.XPaddingBytes, x.XPaddingBytes}, {"scMaxEachPostBytes", got.ScMaxEachPostBytes, x.ScMaxEachPostBytes}, {"scMinPostsIntervalMs", got.ScMinPostsIntervalMs, x.ScMinPostsIntervalMs}} {
				var xr conf.Int32Range
				if len(r.raw) > 0 {
					if err := json.Unmarshal(r.raw, &xr); err != nil {
						t.Fatal(err)
					}
				}
				if r.ours.From != xr.From || r.ours.To != xr.To {
					t.Errorf("%s = %+v, Xray %d-%d", r.name, r.ours, xr.From, xr.To)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRangeMatchesXray reads range values with Range and with
// Xray's conf.Int32Range: the same numbers or the same refusal.
func TestRangeMatchesXray(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`5`, `"5"`, `"100-1000"`, `"1000-100"`, `"-114-514"`, `"-1919--810"`, `""`, `"a-b"`, `"1-2-3"`, `1.5`, `null`, `true`, `"99999999999"`, `-3`} {
		t.Run(in, func(t *testing.T) {
			var ours Range
			var xr conf.Int32Range
			err := json.Unmarshal([]byte(in), &ours)
			xerr := json.Unmarshal([]byte(in), &xr)
			if (err == nil) != (xerr == nil) {
				t.Fatalf("ours: %v, Xray: %v", err, xerr)
			}
			if err == nil && (ours.From != xr.From || ours.To != xr.To) {
				t.Errorf("ours %+v, Xray %d-%d", ours, xr.From, xr.To)
			}
		})
	}
}
