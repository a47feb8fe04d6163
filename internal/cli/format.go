package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// span renders a long duration for people, to the second and without
// trailing zero units: 1h30m, 5m12s, 42s.
func span(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		return "0s"
	}
	var days string
	if d >= 48*time.Hour {
		days = fmt.Sprintf("%dd", d/(24*time.Hour))
		if d %= 24 * time.Hour; d == 0 {
			return days
		}
	}
	s := d.String()
	s = strings.Replace(s, "m0s", "m", 1)
	s = strings.Replace(s, "h0m", "h", 1)
	return days + s
}

// ago renders how long before now t was: "42s ago"; "-" for a zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := now.Sub(t); d >= 0 {
		return span(d) + " ago"
	}
	return "in " + span(t.Sub(now))
}

// latency renders a latency to the millisecond: 350ms, 1.204s; "-" for none.
func latency(d adminapi.Duration) string {
	v := time.Duration(d)
	switch {
	case v <= 0:
		return "-"
	case v < time.Millisecond:
		return v.Round(time.Microsecond).String()
	case v < time.Minute:
		return v.Round(time.Millisecond).String()
	}
	return v.Round(time.Second).String()
}

// count renders a number with a k, M or G suffix past ten thousand.
func count(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// errorCount is what qcc calls errors in a summary: answers the gateway
// failed to give (5xx, and 429 when every endpoint was limited) and
// streams that broke.
func errorCount(s adminapi.StatsSummary) int64 {
	return s.ByClass["5xx"] + s.ByCode["429"] + s.StreamErrors
}

// endpointState is the state column: draining while a drained endpoint
// still has requests in flight.
func endpointState(ep adminapi.Endpoint) string {
	if ep.Draining {
		return "draining"
	}
	return ep.State
}

// weight renders an endpoint's weight, with the effective one when scoring
// has moved it: "100", or "35/100".
func weight(ep adminapi.Endpoint) string {
	if ep.EffectiveWeight == ep.Weight {
		return fmt.Sprint(ep.Weight)
	}
	return fmt.Sprintf("%d/%d", ep.EffectiveWeight, ep.Weight)
}

// orDash returns s, or "-" when it is empty, so no cell is blank.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
