package fakeupstream

import (
	"encoding/json"
	"net/http"

	"github.com/qcc-dev/qcc/internal/apierror"
)

// statusMessage is the message of an injected error, close to the real
// API's wording where it has one.
func statusMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Number of request tokens has exceeded your per-minute rate limit"
	case 529:
		return "Overloaded"
	case http.StatusInternalServerError:
		return "Internal server error"
	}
	if text := http.StatusText(status); text != "" {
		return text
	}
	return "Error"
}

// writeError answers with an Anthropic-shaped error. errType overrides the
// type that fits status when it is not empty.
func (s *Server) writeError(w http.ResponseWriter, status int, errType, message string) {
	if errType == "" {
		errType = apierror.Type(status)
	}
	s.writeJSON(w, status, apierror.Body{Type: "error", Error: apierror.Detail{Type: errType, Message: message}})
}

// writeJSON answers with v as JSON.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every value the fake sends is a plain struct of its own.
		panic("fakeupstream: marshal reply: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	s.respond(w, status)
	_, _ = w.Write(body)
}
