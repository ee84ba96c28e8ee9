package vmess

import (
	"errors"
	"strings"
	"testing"

	"github.com/xtls/xray-core/common/uuid"
)

// TestParseIDMatchesXray maps each id string with ParseID and with
// Xray-core's own uuid.ParseString: both accept or both refuse, with the
// same bytes.
func TestParseIDMatchesXray(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // canonical result when pinned; every case is compared with Xray
	}{
		{vecUUID, vecUUID},
		{"B831381D-6324-4D53-AD4F-8CDA48B30811", vecUUID},
		{"b831381d63244d53ad4f8cda48b30811", vecUUID},
		{"b831381d-63244d53-ad4f8cda48b30811", vecUUID},
		{"b831381d63244d53ad4f8cda48b30811zzzz", vecUUID},
		{"hello", "b7502f40-1152-59f2-ba10-69aeed522cdf"},
		{"a", ""},
		{strings.Repeat("n", 30), ""},
		{strings.Repeat("n", 31), ""},
		{strings.Repeat("n", 37), ""},
		{"", ""},
		{"b831381d-6324-4d53-ad4f-8cda48b3081z", ""},
		{"{b831381d-6324-4d53-ad4f-8cda48b30811}", ""},
		{"b831381d-6324-4d53-ad4f-8cda48b3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseID(tt.in)
			xu, xerr := uuid.ParseString(tt.in)
			if (err == nil) != (xerr == nil) {
				t.Fatalf("ParseID err = %v, Xray err = %v", err, xerr)
			}
			if err != nil {
				if strings.Contains(err.Error(), tt.in) && len(tt.in) > 8 {
					t.Fatalf("error %q repeats the id", err)
				}
				return
			}
			if got != ID(xu) {
				t.Fatalf("ParseID = %s, Xray = %x", got, xu[:])
			}
			if tt.want != "" && got.String() != tt.want {
				t.Fatalf("ParseID = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMaskID(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"27848739-7e62-4138-9fd3-098a63964b6b": "2784…4b6b",
		"short":                                "…",
		"1234567":                              "…",
		"secretpwd1":                           "s…1",
		"123456789012345":                      "1…5",
		"1234567890123456":                     "1…6",
		"custom-name-of-thirty-bytes-xx":       "c…x",
		"278487397e6241389fd3098a63964b6b":     "2784…4b6b",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := MaskID(in); got != want {
				t.Fatalf("MaskID(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

// TestParseIDErrorReasons: every refusal is an *IDError whose Reason and
// Length say why, for callers that choose their own words.
func TestParseIDErrorReasons(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want IDReason
	}{
		{"", IDEmpty},
		{strings.Repeat("n", 31), IDBadLength},
		{strings.Repeat("n", 37), IDBadLength},
		{"b831381d-6324-4d53-ad4f-8cda48b3", IDTooFewDigits},
		{"b831381d-6324-4d53-ad4f-8cda48b3081z", IDNotHex},
		{"{b831381d-6324-4d53-ad4f-8cda48b30811}", IDBadLength},
		{"b831-381d6324-4d53-ad4f-8cda48b30811", IDMisplacedDash},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseID(tt.in)
			var ie *IDError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T) is not an *IDError", err, err)
			}
			if ie.Reason != tt.want || ie.Length != len(tt.in) {
				t.Errorf("reason %d length %d, want %d and %d", ie.Reason, ie.Length, tt.want, len(tt.in))
			}
			if len(tt.in) > 8 && strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q repeats the id", err)
			}
		})
	}
}
