package subscription

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xvmtools/xvm/schema/bytesize"
)

// Usage is a provider's account of the subscription, from its
// subscription-userinfo response header: bytes used in each direction,
// the plan's total, and when it expires. The header is a de-facto standard
// of the Clash family of clients (Clash Verge, mihomo, Stash, Shadowrocket
// and v2rayN show it); panels such as V2Board/Xboard and Marzban send it:
//
//	subscription-userinfo: upload=455727941; download=6174315083; total=1073741824000; expire=1671815872
//
// Sizes are bytes and expire is Unix seconds. A total of 0 means no data
// limit; an expire of 0 (or none) means no end date.
type Usage struct {
	Upload, Download, Total int64
	// Expire is the end of the subscription; the zero Time means none.
	Expire time.Time
}

// maxUsageHeader bounds the header ParseUsage reads: the four fields fit
// in well under 200 bytes, so anything longer is not this header.
const maxUsageHeader = 4096

// UsageError is ParseUsage's failure. Reason says why, as a predicate
// of the header ("holds none of …").
type UsageError struct{ Reason string }

func (e *UsageError) Error() string { return "subscription: subscription-userinfo " + e.Reason }

// ErrNoUsage is ParseUsage's error for a header that holds none of the
// fields.
var ErrNoUsage = &UsageError{Reason: "holds none of upload, download, total, expire"}

// ParseUsage reads a subscription-userinfo header value. Fields are
// separated by ';' (or ','), keys are case-insensitive, unknown keys are
// ignored. Values are non-negative integers; some panels write floats
// (1.5E9) or leave a value empty, which are read as far as they make
// sense. It fails only when no field could be read.
func ParseUsage(header string) (Usage, error) {
	var u Usage
	if len(header) > maxUsageHeader {
		return u, &UsageError{Reason: "is too long to be one"}
	}
	found := false
	for _, field := range strings.FieldsFunc(header, func(r rune) bool { return r == ';' || r == ',' }) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		n, ok := usageNumber(strings.TrimSpace(v))
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "upload":
			u.Upload = n
		case "download":
			u.Download = n
		case "total":
			u.Total = n
		case "expire":
			if n > 0 {
				// Clamp to a date time.Time can format: a panel that
				// means "never" sometimes writes a huge number.
				u.Expire = time.Unix(min(n, 253402300799), 0).UTC()
			}
		default:
			continue
		}
		found = true
	}
	if !found {
		return Usage{}, ErrNoUsage
	}
	return u, nil
}

// usageNumber reads a non-negative integer, or a float rounded down, and
// clamps it to int64.
func usageNumber(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, n >= 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) {
		return 0, false
	}
	if f >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(f), true
}

// Used is upload plus download, clamped to int64.
func (u Usage) Used() int64 {
	if u.Upload > math.MaxInt64-u.Download {
		return math.MaxInt64
	}
	return u.Upload + u.Download
}

// UsedUp reports a plan with a limit whose data is all used.
func (u Usage) UsedUp() bool { return u.Total > 0 && u.Used() >= u.Total }

// Expired reports a subscription whose end date is not after now.
func (u Usage) Expired(now time.Time) bool { return !u.Expire.IsZero() && !u.Expire.After(now) }

// String summarises the usage in one line, such as "12.3 GiB of 50 GiB
// used, expires 2026-12-31" or "3 GiB used (no data limit), expired
// 2025-01-31". Sizes are in binary units (GiB = 2³⁰ bytes), the unit panels
// count plans in, so a 50 GiB plan reads 50 GiB; dates are UTC.
func (u Usage) String() string {
	return u.summary(time.Time{})
}

// Summary is String with the expiry worded against now: "expires" for a
// date after now, "expired" for one not after it.
func (u Usage) Summary(now time.Time) string {
	return u.summary(now)
}

func (u Usage) summary(now time.Time) string {
	var b strings.Builder
	b.WriteString(bytesize.Format(float64(u.Used())))
	if u.Total > 0 {
		b.WriteString(" of ")
		b.WriteString(bytesize.Format(float64(u.Total)))
		b.WriteString(" used")
	} else {
		b.WriteString(" used (no data limit)")
	}
	if !u.Expire.IsZero() {
		if !now.IsZero() && u.Expired(now) {
			b.WriteString(", expired ")
		} else {
			b.WriteString(", expires ")
		}
		b.WriteString(u.Expire.Format(time.DateOnly))
	}
	return b.String()
}
