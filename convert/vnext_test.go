package convert

import (
	"context"
	"strings"
	"testing"
)

// TestSeedManualVnextSplit checks the seed manual's shape (several servers,
// several users) gives one node per server × user, in order, each built by
// Xray's loader, with one warning that names the field and keeps the ids
// out.
func TestSeedManualVnextSplit(t *testing.T) {
	const (
		id1 = "27848739-7e62-4138-9fd3-098a63964b6b"
		id2 = "b831bfb3-e84c-4647-a953-bbdd6e6d6390"
		id3 = "0c6b2c4c-3a4e-4bd0-9a1f-7a0a8f0a1e11"
	)
	vnext := `{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + id1 + `","alterId":64},{"id":"` + id2 + `"}]},` +
		`{"address":"b.example.com","port":8443,"users":[{"id":"` + id3 + `"}]}]}`
	tests := []struct {
		name, doc, field string
	}{
		{"bare settings", vnext, "[0].settings.vnext"},
		{"outbound list", `[{"protocol":"vmess","tag":"p","settings":` + vnext + `}]`, "[0].settings.vnext"},
		{"whole config", `{"outbounds":[{"protocol":"freedom"},{"protocol":"vmess","tag":"p","settings":` + vnext + `,"streamSettings":{"network":"ws","wsSettings":{"path":"/w"}}}]}`, "outbounds[1].settings.vnext"},
		{"toml", "[[outbounds]]\nprotocol = \"vmess\"\n[[outbounds.settings.vnext]]\naddress = \"a.example.com\"\nport = 443\n[[outbounds.settings.vnext.users]]\nid = \"" + id1 + "\"\n[[outbounds.settings.vnext.users]]\nid = \"" + id2 + "\"\n[[outbounds.settings.vnext]]\naddress = \"b.example.com\"\nport = 8443\n[[outbounds.settings.vnext.users]]\nid = \"" + id3 + "\"\n", "outbounds[0].settings.vnext"},
	}
	want := []struct {
		server string
		port   int
		id     string
	}{{"a.example.com", 443, id1}, {"a.example.com", 443, id2}, {"b.example.com", 8443, id3}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(context.Background(), "in", []byte(tt.doc), Options{From: FormatXray})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Nodes) != len(want) {
				t.Fatalf("%d nodes, want %d; diagnostics %v", len(res.Nodes), len(want), res.Diagnostics)
			}
			for i, w := range want {
				n := res.Nodes[i]
				if n.Server != w.server || n.Port != w.port || n.UUID != w.id {
					t.Errorf("node %d is %s:%d, want %s:%d with id %d", i, n.Server, n.Port, w.server, w.port, i+1)
				}
				o, _, err := ToXray(n)
				if err != nil {
					t.Fatalf("ToXray: %v", err)
				}
				if err := buildWithXray(t, o); err != nil {
					t.Errorf("Xray refuses node %d: %v", i, err)
				}
			}
			found := 0
			for _, d := range res.Diagnostics {
				for _, id := range []string{id1, id2, id3} {
					if strings.Contains(strings.ToLower(d.String()), id) {
						t.Errorf("diagnostic shows a user id: %s", d)
					}
				}
				if d.Severity == Warning && d.Field == tt.field {
					found++
					if !strings.Contains(d.Message, "3 nodes") || !strings.Contains(d.Message, "one server with one user per outbound") {
						t.Errorf("warning does not say what happened: %s", d.Message)
					}
				}
			}
			if found != 1 {
				t.Errorf("%d warnings about %s, want 1; diagnostics %v", found, tt.field, res.Diagnostics)
			}
		})
	}
}

// TestSeedManualVnextBadUser checks one bad user among several fails only
// its own node, and the error names its place.
func TestSeedManualVnextBadUser(t *testing.T) {
	doc := `{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + corpusUUID + `"},{"id":"b831-381d6324-4d53-ad4f-8cda48b30811"}]}]}`
	res, err := Parse(context.Background(), "in", []byte(doc), Options{From: FormatXray})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Nodes) != 1 {
		t.Fatalf("%d nodes, want 1", len(res.Nodes))
	}
	var errs []string
	for _, d := range res.Diagnostics {
		if d.Severity == Error {
			errs = append(errs, d.Field)
			if strings.Contains(d.Message, "b831-381d") {
				t.Errorf("error shows the id: %s", d.Message)
			}
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "settings.vnext[0].users[1]") {
		t.Errorf("errors about %v, want one about settings.vnext[0].users[1]", errs)
	}
}
