package proxy

import (
	"net/http"
	"strconv"

	"github.com/qcc-dev/qcc/internal/apierror"
)

// writeError answers with an Anthropic-shaped error. retry says whether the
// client should try again (the SDKs read x-should-retry); retryAfter, when
// positive, is in whole seconds.
func writeError(w http.ResponseWriter, status int, msg string, retry bool, retryAfter int) {
	body := apierror.Marshal(apierror.Type(status), msg)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Should-Retry", strconv.FormatBool(retry))
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
