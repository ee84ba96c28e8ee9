package transport

import (
	"fmt"
	"net/http"
	"time"
)

// addBrowserHeaders fills the headers Xray's utils.TryDefaultHeadersWith
// adds to WebSocket and HTTPUpgrade requests: a browser identity chosen by
// a configured User-Agent of "chrome" (also the default), "firefox",
// "edge" or "golang", plus the fetch metadata of a WebSocket request.
func addBrowserHeaders(h http.Header, now time.Time) {
	browser := "chrome"
	if len(h.Values("User-Agent")) > 0 {
		switch ua := h.Get("User-Agent"); ua {
		case "chrome", "firefox", "edge", "golang":
			browser = ua
		default:
			return // a real UA string is sent as configured, nothing added
		}
	}
	ua := chromeUA(now)
	chUA := func(brand string) string {
		v := chromeVersion(now)
		return fmt.Sprintf(`"Not_A Brand";v="8", "Chromium";v="%d", "%s";v="%d"`, v, brand, v)
	}
	switch browser {
	case "chrome":
		h["Sec-CH-UA"] = []string{chUA("Google Chrome")}
		h["Sec-CH-UA-Mobile"] = []string{"?0"}
		h["Sec-CH-UA-Platform"] = []string{`"Windows"`}
		h["DNT"] = []string{"1"}
		h.Set("User-Agent", ua)
		h.Set("Accept-Language", "en-US,en;q=0.9")
	case "edge":
		h["Sec-CH-UA"] = []string{chUA("Microsoft Edge")}
		h["Sec-CH-UA-Mobile"] = []string{"?0"}
		h["Sec-CH-UA-Platform"] = []string{`"Windows"`}
		h["DNT"] = []string{"1"}
		h.Set("User-Agent", fmt.Sprintf("%sEdg/%d.0.0.0", ua, chromeVersion(now)))
		h.Set("Accept-Language", "en-US,en;q=0.9")
	case "firefox":
		h.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0")
		h["DNT"] = []string{"1"}
		h.Set("Accept-Language", "en-US,en;q=0.5")
	case "golang":
		h.Del("User-Agent")
		return
	}
	h.Set("Sec-Fetch-Mode", "websocket")
	h.Set("Sec-Fetch-Dest", "empty")
	h.Set("Sec-Fetch-Site", "same-origin")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	if h.Get("Pragma") == "" {
		h.Set("Pragma", "no-cache")
	}
	if h.Get("Accept") == "" {
		h.Set("Accept", "*/*")
	}
}
