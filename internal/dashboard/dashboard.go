// Package dashboard is qccd's live dashboard: one page and its script,
// embedded in the binary, that poll the admin API and draw what they get.
//
// The page is plain HTML, CSS and JavaScript with no build step and no
// third-party code: the charts are drawn on <canvas> by chart.js here.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the page at / and its files under /assets/.
func Handler() http.Handler {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The page loads nothing from elsewhere and runs no inline script;
		// saying so keeps an injected string from ever running as code.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		switch r.URL.Path {
		case "/":
			http.ServeFileFS(w, r, assets, "index.html")
		default:
			r2 := r.Clone(r.Context())
			r2.URL.Path = r.URL.Path[len("/assets"):]
			files.ServeHTTP(w, r2)
		}
	})
}
