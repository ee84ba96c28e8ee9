package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// auth lets a request through when Auth is off, or when it carries the
// configured basic credentials or bearer token. Comparisons are of hashes
// in constant time, so neither the secret's content nor its length leaks
// through timing.
func (s *Server) auth(next http.Handler) http.Handler {
	a := s.opts.Auth
	if !a.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.BearerToken != "" {
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && secretEqual(strings.TrimSpace(tok), a.BearerToken) {
				next.ServeHTTP(w, r)
				return
			}
		}
		if a.Username != "" {
			if u, p, ok := r.BasicAuth(); ok && secretEqual(u, a.Username) && secretEqual(p, a.Password) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="xvm serve", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xvm serve"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
}

func secretEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
