package main

import (
	"encoding/json"
	"strings"
	"testing"
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
