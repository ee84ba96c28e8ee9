package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/schema"
)

func TestSchemaCommand(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantRef  string
		wantErr  string
	}{
		{[]string{"schema"}, 0, "#/$defs/outbound", ""},
		{[]string{"schema", "--for", "settings"}, 0, "#/$defs/vmessSettings", ""},
		{[]string{"schema", "--for", "outbound"}, 0, "#/$defs/outbound", ""},
		{[]string{"schema", "--for", "config"}, 0, "#/$defs/config", ""},
		{[]string{"schema", "--for", "inbound"}, 2, "", "unknown --for"},
		{[]string{"schema", "extra"}, 2, "", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runXVM(t, false, "", tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want %q", errOut, tt.wantErr)
			}
			if tt.wantCode != 0 {
				return
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$ref"] != tt.wantRef {
				t.Errorf("$schema %v, $ref %v", doc["$schema"], doc["$ref"])
			}
		})
	}
}

// updateSchemas rewrites the committed schemas under schema/<version>/.
var updateSchemas = flag.Bool("update-schemas", false, "rewrite the committed schema/"+schema.Version+"/*.schema.json from `xvm schema`")

// TestCommittedSchemas keeps the schemas editors fetch by URL (the $id of
// each printed schema) equal to what `xvm schema --for ROOT` prints.
func TestCommittedSchemas(t *testing.T) {
	for _, r := range schema.Roots() {
		t.Run(string(r), func(t *testing.T) {
			out, errOut, code := runXVM(t, false, "", "schema", "--for", string(r))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc struct {
				ID string `json:"$id"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			rel := "schema/" + schema.Version + "/" + schema.FileName(r)
			if want := "https://raw.githubusercontent.com/xvmtools/xvm/main/" + rel; doc.ID != want {
				t.Errorf("$id %q, want %q (the committed file's URL)", doc.ID, want)
			}
			path := filepath.Join("..", "..", filepath.FromSlash(rel))
			if *updateSchemas {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			committed, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/xvm -run TestCommittedSchemas -update-schemas)", err)
			}
			if string(committed) != out {
				t.Errorf("%s differs from `xvm schema --for %s`; run go test ./cmd/xvm -run TestCommittedSchemas -update-schemas", rel, r)
			}
		})
	}
}
