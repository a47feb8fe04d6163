package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// errorType is Anthropic's error type for a status, so that every error qccd
// makes itself reads like one from the API and SDKs handle it as such.
func errorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	default:
		return "api_error"
	}
}

type errorBody struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// writeError answers with an Anthropic-shaped error. retry says whether the
// client should try again (the SDKs read x-should-retry); retryAfter, when
// positive, is in whole seconds.
func writeError(w http.ResponseWriter, status int, msg string, retry bool, retryAfter int) {
	body, _ := json.Marshal(errorBody{Type: "error", Error: errorDetail{Type: errorType(status), Message: msg}})
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
