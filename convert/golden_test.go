package convert

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under ../testdata/convert/golden")

// goldenExt is the file extension of each target's golden output.
var goldenExt = map[OutputFormat]string{
	ToXrayJSON: "xray.json", ToXrayConfig: "xray-config.json", ToV2RayNLink: "v2rayn.txt",
	ToURILink: "uri.txt", ToClashYAML: "clash.yaml", ToSingBox: "sing-box.json",
	ToXrayYAML: "xray.yaml", ToXrayTOML: "xray.toml",
}

// TestGoldenEmit pins the exact output of every target for the fixture
// subscription and the Clash file; the same files are what `xvm convert`
// must print (cmd/xvm tests compare against them). The shape of each
// output is proven separately against Xray-core, sing-box's field list and
// mihomo's keys; this test catches unintended changes.
func TestGoldenEmit(t *testing.T) {
	for _, in := range []string{"sub-plain.txt", "clash.yaml"} {
		data, err := os.ReadFile(filepath.Join("../testdata/convert", in))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Parse(context.Background(), in, data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range OutputFormats() {
			t.Run(in+"/"+string(target), func(t *testing.T) {
				out, _, err := Emit(res.Nodes, target, EmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				base := strings.TrimSuffix(in, filepath.Ext(in))
				path := filepath.Join("../testdata/convert/golden", base+"."+goldenExt[target])
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, out, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./convert -run Golden -update)", err)
				}
				if diff := cmp.Diff(string(want), string(out)); diff != "" {
					t.Errorf("%s differs (-want +got):\n%s", path, diff)
				}
			})
		}
	}
}

// TestGoldenXrayFilesBuild feeds every committed golden Xray output (the
// same bytes `xvm convert` prints) to Xray-core's own loader.
func TestGoldenXrayFilesBuild(t *testing.T) {
	files, err := filepath.Glob("../testdata/convert/golden/*")
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, f := range files {
		var format string
		switch {
		case strings.HasSuffix(f, ".xray.json"):
			format = "outbounds"
		case strings.HasSuffix(f, ".xray-config.json"):
			format = "json"
		case strings.HasSuffix(f, ".xray.yaml"):
			format = "yaml"
		case strings.HasSuffix(f, ".xray.toml"):
			format = "toml"
		default:
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if format == "outbounds" {
				format, data = "json", append(append([]byte(`{"outbounds":`), data...), '}')
			}
			if err := buildConfigWithXray(t, format, data); err != nil {
				t.Fatalf("Xray-core refused %s: %v", f, err)
			}
		})
		built++
	}
	if built != 8 {
		t.Errorf("built %d golden Xray files, want 8", built)
	}
}
