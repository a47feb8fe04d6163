// Package apierror is the Anthropic API's error shape, shared by qccd's own
// error answers and the fake upstream, so both speak exactly what the SDKs
// expect: {"type":"error","error":{"type":"...","message":"..."}}.
package apierror

import (
	"encoding/json"
	"net/http"
)

// Type returns the error type the Anthropic API uses for status. Its
// documentation lists these; other 4xx statuses are invalid_request_error
// and other 5xx statuses api_error.
func Type(status int) string {
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

// Body is the JSON body of every Anthropic error.
type Body struct {
	Type  string `json:"type"` // always "error"
	Error Detail `json:"error"`
}

// Detail is the error object inside a Body.
type Detail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Marshal returns the JSON body of an error of type errType.
func Marshal(errType, message string) []byte {
	b, err := json.Marshal(Body{Type: "error", Error: Detail{Type: errType, Message: message}})
	if err != nil {
		panic("apierror: " + err.Error()) // two strings always marshal
	}
	return b
}
