// Package sse reads Anthropic server-sent event streams as they pass through
// the proxy, without buffering them.
//
// The proxy relays a stream event by event: it writes every complete event
// to the client as soon as it has it and holds back only a trailing partial
// event. [Boundary] finds where the complete events end; a [Tracker] watches
// those events go by to learn the usage, whether the message finished and
// whether the upstream reported an error. When the upstream dies mid-stream,
// the proxy drops the partial event and appends [ErrorEvent], so the client
// always sees a well-formed stream.
package sse
