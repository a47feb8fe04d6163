package fakeupstream

import (
	"encoding/json"
	"net/http"
)

// errorType returns the Anthropic error type the real API uses for status.
// Its documentation lists these; other 4xx statuses are
// invalid_request_error and other 5xx statuses api_error.
func errorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

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

// errorBody is the JSON body of every Anthropic error.
type errorBody struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// writeError answers with an Anthropic-shaped error. errType overrides the
// type that fits status when it is not empty.
func (s *Server) writeError(w http.ResponseWriter, status int, errType, message string) {
	if errType == "" {
		errType = errorType(status)
	}
	s.writeJSON(w, status, errorBody{"error", errorDetail{errType, message}})
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
