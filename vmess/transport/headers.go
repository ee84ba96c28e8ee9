package transport

import (
	"fmt"
	"net/http"
	"time"
)

// requestKind is the context-specific part of Xray's browser headers:
// its "ws" variant (WebSocket, HTTPUpgrade) or "fetch" variant (XHTTP).
type requestKind uint8

const (
	websocketRequest requestKind = iota
	fetchRequest
)

// addBrowserHeaders fills the headers Xray's utils.TryDefaultHeadersWith
// adds to transport requests: a browser identity chosen by a configured
// User-Agent of "chrome" (also the default), "firefox", "edge" or
// "golang", plus the fetch metadata of a WebSocket or a fetch request.
func addBrowserHeaders(h http.Header, kind requestKind, now time.Time) {
	browser := "chrome"
	if len(h.Values("User-Agent")) > 0 {
		switch ua := h.Get("User-Agent"); ua {
		case "chrome", "firefox", "edge", "golang":
			browser = ua
		default:
			return // a real UA string is sent as configured, nothing added
		}
	}
	switch browser {
	case "golang":
		h.Del("User-Agent")
		return
	case "chrome", "edge":
		brand := "Google Chrome"
		if browser == "edge" {
			brand = "Microsoft Edge"
		}
		v := chromeVersion(now)
		h["Sec-CH-UA"] = []string{fmt.Sprintf(`"Not_A Brand";v="8", "Chromium";v="%d", "%s";v="%d"`, v, brand, v)}
		h["Sec-CH-UA-Mobile"] = []string{"?0"}
		h["Sec-CH-UA-Platform"] = []string{`"Windows"`}
		h.Set("Accept-Language", "en-US,en;q=0.9")
	case "firefox":
		h.Set("Accept-Language", "en-US,en;q=0.5")
	}
	h["DNT"] = []string{"1"}
	h.Set("User-Agent", browserUA(browser, now))
	switch kind {
	case websocketRequest:
		h.Set("Sec-Fetch-Mode", "websocket")
	case fetchRequest:
		h.Set("Sec-Fetch-Mode", "cors")
		if h.Get("Priority") == "" {
			h.Set("Priority", map[string]string{"chrome": "u=1, i", "edge": "u=1, i", "firefox": "u=4"}[browser])
		}
	}
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

// browserUA is the User-Agent Xray's utils sends for browser "chrome",
// "edge" or "firefox".
func browserUA(browser string, now time.Time) string {
	switch browser {
	case "firefox":
		return "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
	case "edge":
		return fmt.Sprintf("%sEdg/%d.0.0.0", chromeUA(now), chromeVersion(now))
	}
	return chromeUA(now)
}
