package probe

import (
	"fmt"
	"strconv"
	"strings"
)

// DownloadServer is the URL a download size is fetched from: it sends
// the number of bytes asked for in its "bytes" parameter.
const DownloadServer = "https://speed.cloudflare.com/__down?bytes="

// maxDownload bounds a download size.
const maxDownload = 10 << 30

// DownloadURL turns a download size or URL into the URL to download: an http
// or https URL is used as it is; a size (a plain number of bytes, or with a
// unit: 500KB, 10MB, 1GB are decimal; 10KiB, 10MiB, 1GiB binary; K, M, G
// alone are binary) becomes DownloadServer with that many bytes.
func DownloadURL(spec string) (string, error) {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		if _, err := parseHTTPURL("Download", s); err != nil {
			return "", err
		}
		return s, nil
	}
	n, err := parseSize(s)
	if err != nil {
		return "", &OptionError{Option: "Download", Value: spec, Reason: "want a size such as 10MB or 25MiB, or an http(s) URL"}
	}
	if n < 1 || n > maxDownload {
		return "", &OptionError{Option: "Download", Value: spec, Reason: "the size must be between 1 byte and 10 GiB"}
	}
	return DownloadServer + strconv.FormatInt(n, 10), nil
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	up := strings.ToUpper(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(up, u.suffix) {
			up, mult = strings.TrimSpace(strings.TrimSuffix(up, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(up, 64)
	if err != nil || f < 0 || f > float64(maxDownload) {
		return 0, fmt.Errorf("bad size")
	}
	return int64(f * float64(mult)), nil
}
