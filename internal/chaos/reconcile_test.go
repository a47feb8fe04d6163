package chaos

import (
	"strconv"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// reconcile checks that qccd's records and its stats report count exactly
// what the upstreams counted: every attempt, every status, every token.
func reconcile(t *testing.T, ups []*upstream, recs []proxy.Record, rep adminapi.StatsReport, got clientSummary, n int) {
	t.Helper()
	if len(recs) != n {
		t.Errorf("qccd recorded %d requests, the client sent %d", len(recs), n)
	}

	// What qccd says it did, from its records.
	attempts := map[string]int{} // by endpoint
	failedByStatus := map[int]int{}
	var tokens sse.Usage
	var bodyBroke, upstreamErrorEvents, cutStreams, garbageStreams, streamErrors int
	for _, r := range recs {
		for _, f := range r.Failed {
			attempts[f.Endpoint]++
			failedByStatus[f.Status]++
		}
		if r.Attempts > len(r.Failed) {
			attempts[r.Endpoint]++
		}
		tokens = tokens.Add(r.Usage)
		if r.StreamError != "" {
			streamErrors++
		}
		switch {
		case r.StreamError == "":
		case !r.Stream:
			bodyBroke++
		case strings.HasPrefix(r.StreamError, "upstream error event"):
			upstreamErrorEvents++
		case r.Usage.IsZero():
			garbageStreams++ // nothing parseable came before the end
		default:
			cutStreams++
		}
	}

	// What the upstreams say happened.
	var upRequests, up200 int
	var upTokens sse.Usage
	upByStatus := map[int]int{}
	taken := map[string]int{}
	for _, u := range ups {
		st := u.fake.Stats()
		if attempts[u.name] != st.Requests {
			t.Errorf("%s: qccd counts %d attempts, the upstream %d requests", u.name, attempts[u.name], st.Requests)
		}
		upRequests += st.Requests
		up200 += st.ByStatus[200]
		for s, c := range st.ByStatus {
			upByStatus[s] += c
		}
		upTokens = upTokens.Add(st.Tokens)
		for k, c := range u.taken(st.Requests) {
			taken[k] += c
		}
	}

	// Every failed attempt is an upstream error status or a reset.
	for s, c := range failedByStatus {
		want := upByStatus[s]
		if s == 0 {
			want = taken[kindResetEarly]
		}
		if c != want {
			t.Errorf("status %d: qccd recorded %d failed attempts, the upstreams %d", s, c, want)
		}
	}
	if sum := failedByStatus[429] + failedByStatus[529] + failedByStatus[500] + failedByStatus[502] + failedByStatus[503]; sum != taken[kindRateLimited]+taken[kindOverloaded]+taken[kindStatus5xx] {
		t.Errorf("qccd recorded %d error statuses, the upstreams were told to send %d", sum,
			taken[kindRateLimited]+taken[kindOverloaded]+taken[kindStatus5xx])
	}
	// Every request was answered by exactly one upstream 200.
	if up200 != n-got.lost {
		t.Errorf("the upstreams sent %d 200s for %d answered requests", up200, n-got.lost)
	}
	if tokens != upTokens {
		t.Errorf("tokens: qccd recorded %+v, the upstreams served %+v", tokens, upTokens)
	}

	// Faults after the first byte, one by one.
	if got.aborted != bodyBroke {
		t.Errorf("the client saw %d aborted replies, qccd recorded %d bodies that broke off", got.aborted, bodyBroke)
	}
	if got.streamErrors != cutStreams+garbageStreams+upstreamErrorEvents {
		t.Errorf("the client saw %d streams end in an error event, qccd recorded %d (%d cut, %d garbage, %d upstream error events)",
			got.streamErrors, cutStreams+garbageStreams+upstreamErrorEvents, cutStreams, garbageStreams, upstreamErrorEvents)
	}
	if cutStreams+bodyBroke != taken[kindResetMid] {
		t.Errorf("%d cuts mid-body struck, qccd recorded %d (%d streams, %d replies)", taken[kindResetMid], cutStreams+bodyBroke, cutStreams, bodyBroke)
	}
	if got.garbage+garbageStreams != taken[kindGarbage] {
		t.Errorf("%d garbage 200s struck, the client got %d replies and qccd recorded %d streams of it", taken[kindGarbage], got.garbage, garbageStreams)
	}
	if upstreamErrorEvents > taken[kindErrorEvent] {
		t.Errorf("qccd recorded %d upstream error events, only %d were sent", upstreamErrorEvents, taken[kindErrorEvent])
	}

	// The stats collector agrees with both.
	tot := rep.Total
	if rep.Dropped != 0 {
		t.Errorf("stats dropped %d events", rep.Dropped)
	}
	if tot.Requests != int64(n) || tot.Attempts != int64(upRequests) {
		t.Errorf("stats: %d requests and %d attempts, want %d and %d", tot.Requests, tot.Attempts, n, upRequests)
	}
	if tot.StreamErrors != int64(streamErrors) {
		t.Errorf("stats: %d stream errors, qccd recorded %d", tot.StreamErrors, streamErrors)
	}
	if c := tot.ByCode[strconv.Itoa(200)]; c != int64(up200) {
		t.Errorf("stats: %d 200s, the upstreams sent %d", c, up200)
	}
	if st := (sse.Usage{Input: tot.Tokens.Input, Output: tot.Tokens.Output, CacheRead: tot.Tokens.CacheRead, CacheCreation: tot.Tokens.CacheCreation}); st != upTokens {
		t.Errorf("stats: tokens %+v, the upstreams served %+v", st, upTokens)
	}
	for _, cs := range rep.Clusters {
		for _, es := range cs.Endpoints {
			if es.Summary.Attempts != int64(attempts[es.Endpoint]) {
				t.Errorf("stats: %s has %d attempts, the upstream %d", es.Endpoint, es.Summary.Attempts, attempts[es.Endpoint])
			}
		}
	}

	// A large run must have seen every kind of fault, or it proved little.
	if n >= 1000 {
		for _, k := range []string{kindStatus5xx, kindOverloaded, kindRateLimited, kindResetEarly, kindResetMid, kindErrorEvent, kindSlow, kindGarbage} {
			if taken[k] == 0 {
				t.Errorf("no %s fault struck in %d requests", k, n)
			}
		}
	}
	t.Logf("faults that struck: %v; upstream requests %d for %d client requests", taken, upRequests, n)
}
