// Package chaos holds qccd's chaos suite (chaos_test.go): three fake
// upstreams that fail at random in every way real ones do, at least one of
// them always healthy, and a load of streaming and non-streaming requests
// through the proxy. It checks what DESIGN.md promises: no client sees a
// failure that happened before the first byte, every stream that breaks
// ends in a well-formed error event, and qccd's accounting (its request
// records and the stats collector) matches what the upstreams counted.
//
// What "no client-visible failure" means for each fault: a 5xx, 529, 429 or
// a reset before the headers must never reach the client (qccd retries on
// another endpoint). A fault after the upstream's first byte cannot be
// retried: a stream must then end in a well-formed error event, and a
// non-streaming reply cut short must abort the client's connection rather
// than end as a short body it might trust. A garbage 200 is the first
// byte: qccd relays an upstream's 200 as it comes, for it cannot judge a
// body without buffering it, which would end streaming. A garbage stream
// ends in qccd's error event (it holds no complete event); a garbage JSON
// reply reaches the client as sent, and the suite counts it apart and
// checks it against the garbage the upstreams sent. Active health checks
// (internal/health) are what keep such an endpoint out of rotation.
//
// `make chaos` runs 2,000 requests; `go test` runs a small suite so that
// `make test` stays quick. QCC_CHAOS_REQUESTS or -chaos.requests sets the
// size, -chaos.seed the faults.
package chaos
