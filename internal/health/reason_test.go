package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
)

func TestErrorReason(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"anthropic error", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "529 overloaded_error: Overloaded"},
		{"model not served", 404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-haiku-4-5-20251001"}}`,
			"404 not_found_error: model: claude-haiku-4-5-20251001"},
		{"key echoed", 401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: ` + testKey + `"}}`,
			"401 authentication_error: invalid x-api-key: [redacted]"},
		{"another sk- key echoed", 401, `{"error":{"type":"authentication_error","message":"key sk-ant-other-1234 revoked"}}`,
			"401 authentication_error: key [redacted] revoked"},
		{"no type", 500, `{"error":"boom"}`, "500 Internal Server Error"},
		{"html", 502, `<html>Bad Gateway</html>`, "502 Bad Gateway"},
		{"unknown status", 599, ``, "599"},
	}
	for _, tt := range tests {
		if got := errorReason(tt.status, []byte(tt.body), testKey); got != tt.want {
			t.Errorf("%s: errorReason = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Overloaded", "Overloaded"},
		{"model: claude-sonnet-4-5-20250929 not found", "model: claude-sonnet-4-5-20250929 not found"},
		{"request req_011CTxyz failed", "request req_011CTxyz failed"},
		{"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc rejected", "token [redacted] rejected"},
		{"bearer AbCdEf0123456789GhIjKl", "bearer [redacted]"},
		{"the key " + testKey + " is wrong", "the key [redacted] is wrong"},
		{"line one\nline two\r\n\tend", "line one line two   end"},
		{strings.Repeat("word ", 40), strings.TrimSpace(strings.Repeat("word ", 24)) + "…"},
		{strings.Repeat("é", 100), strings.Repeat("é", 60) + "…"},
	}
	for _, tt := range tests {
		if got := redact(tt.in, testKey); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	live := context.Background()
	tests := []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{expired, context.DeadlineExceeded, "timeout"},
		{live, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "connection refused"},
		{live, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "connection reset"},
		{live, &net.DNSError{Err: "no such host", Name: "relay.invalid"}, "dns lookup failed"},
		{live, errors.New("something else entirely"), "transport error"},
	}
	for _, tt := range tests {
		if got := describe(tt.ctx, tt.err); got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
