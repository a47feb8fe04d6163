// Package testfixture holds real traffic for tests and benchmarks: one
// request exactly as Claude Code sends it, with its text replaced by filler
// of the same length (see ../../../shared/fixtures/README.md in the design
// repository). It is imported only by tests.
package testfixture

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
)

//go:embed claude-code-request.json
var claudeCodeRequest []byte

// Request is a captured client request.
type Request struct {
	Method string
	Path   string // with its query, e.g. /v1/messages?beta=true
	Header http.Header
	Body   []byte // compact JSON, field order as sent
}

// ClaudeCode returns the captured Claude Code request. Each call returns
// fresh copies, so callers may modify them.
func ClaudeCode() Request {
	var f struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}
	if err := json.Unmarshal(claudeCodeRequest, &f); err != nil {
		panic("testfixture: " + err.Error()) // the embedded file is part of the build
	}
	h := make(http.Header, len(f.Headers))
	for k, v := range f.Headers {
		h.Set(k, v)
	}
	// The file is indented for reading; Claude Code sends compact JSON.
	var body bytes.Buffer
	if err := json.Compact(&body, f.Body); err != nil {
		panic("testfixture: " + err.Error())
	}
	return Request{Method: f.Method, Path: f.Path, Header: h, Body: body.Bytes()}
}
