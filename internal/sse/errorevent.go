package sse

import "github.com/qcc-dev/qcc/internal/apierror"

// ErrorEvent returns a complete Anthropic error event, the frame the API
// itself sends when a stream fails after it has started:
//
//	event: error
//	data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
//
// errType should be one of the API's error types, such as "api_error" or
// "overloaded_error", so that clients classify the failure as they would a
// real one.
func ErrorEvent(errType, message string) []byte {
	data := apierror.Marshal(errType, message)
	out := make([]byte, 0, len("event: error\ndata: ")+len(data)+2)
	out = append(out, "event: error\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}
