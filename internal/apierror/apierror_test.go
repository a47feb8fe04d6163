package apierror

import (
	"encoding/json"
	"testing"
)

func TestType(t *testing.T) {
	for status, want := range map[int]string{
		400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
		403: "permission_error", 404: "not_found_error", 413: "request_too_large",
		422: "invalid_request_error", 429: "rate_limit_error", 500: "api_error",
		503: "api_error", 504: "timeout_error", 529: "overloaded_error",
	} {
		if got := Type(status); got != want {
			t.Errorf("Type(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestMarshalEscapes(t *testing.T) {
	msg := "quote \" backslash \\ newline \n <html>"
	var b Body
	if err := json.Unmarshal(Marshal("api_error", msg), &b); err != nil {
		t.Fatal(err)
	}
	if b.Type != "error" || b.Error.Type != "api_error" || b.Error.Message != msg {
		t.Errorf("round trip: %+v", b)
	}
}
