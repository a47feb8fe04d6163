package logging

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestHTTPErrorLog(t *testing.T) {
	var buf bytes.Buffer
	HTTPErrorLog(zerolog.New(&buf), "admin").Printf("http: TLS handshake error from %s: EOF", "127.0.0.1:1")
	got := buf.String()
	for _, want := range []string{`"level":"debug"`, `"component":"admin"`, `"message":"http: TLS handshake error from 127.0.0.1:1: EOF"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
}
