package logging

import (
	"bytes"
	"log"

	"github.com/rs/zerolog"
)

// HTTPErrorLog returns a logger for http.Server.ErrorLog that routes
// net/http's own messages (TLS noise, clients that vanished mid-request)
// into the structured log at debug level, tagged with component, instead
// of printing unstructured lines to stderr.
func HTTPErrorLog(l zerolog.Logger, component string) *log.Logger {
	return log.New(httpErrorWriter{l, component}, "", 0)
}

type httpErrorWriter struct {
	log       zerolog.Logger
	component string
}

func (w httpErrorWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("component", w.component).Msg(string(bytes.TrimSuffix(p, []byte("\n"))))
	return len(p), nil
}
