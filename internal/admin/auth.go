package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/qcc-dev/qcc/internal/config"
)

// tcpGuard protects the TCP admin listener, which, unlike the socket, any
// local process and any web page open in a local browser can reach.
//
//   - With a token, every route but the dashboard's static files and the
//     liveness and readiness checks needs it as a Bearer token. The page
//     holds no data; its script sends the token it finds in the URL's
//     fragment (#token=...).
//   - Without one (config allows that only on loopback), the Host header
//     must name loopback, so that a page that rebinds its own domain to
//     127.0.0.1 cannot read the API.
//   - Either way, a POST from another origin is refused: a web page can
//     send one without asking, and it would disable endpoints.
func tcpGuard(next http.Handler, token config.Secret) http.Handler {
	var want [sha256.Size]byte
	if !token.IsZero() {
		want = sha256.Sum256([]byte(token.Value()))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && crossOrigin(r) {
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		switch {
		case public(r):
		case token.IsZero():
			if !loopbackHost(r.Host) {
				writeError(w, http.StatusForbidden, "host "+r.Host+" is not loopback; set admin_token to reach the admin API by name")
				return
			}
		default:
			got, ok := bearer(r)
			sum := sha256.Sum256([]byte(got))
			// Compare digests, so that neither the length nor the content
			// of a wrong token changes how long the check takes.
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="qccd admin"`)
				writeError(w, http.StatusUnauthorized, "admin token missing or wrong: send it as Authorization: Bearer TOKEN")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// public reports whether a request may skip the token: the dashboard's page
// and assets, and the probes a load balancer or systemd would make.
func public(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	return p == "/" || strings.HasPrefix(p, "/assets/") || p == "/healthz" || p == "/readyz"
}

func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// crossOrigin reports whether the browser that sent r says it came from a
// page of another origin. Non-browser clients send no Origin.
func crossOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
