//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"strings"
	"time"
)

// entry is one journal entry: its fields as text.
type entry map[string]string

// journal returns the guest journal's entries that journalctl selects with
// args, e.g. ("-u", "qccd", "CLUSTER=default").
func (g *guest) journal(args ...string) []entry {
	g.t.Helper()
	out := g.must("journalctl", append([]string{"--no-pager", "-o", "json"}, args...)...)
	var entries []entry
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var raw map[string]any
		if json.Unmarshal(sc.Bytes(), &raw) != nil {
			continue // "-- No entries --" and the like
		}
		e := entry{}
		for k, v := range raw {
			if s, ok := v.(string); ok {
				e[k] = s
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// waitJournal polls the journal until an entry that args select satisfies
// ok, and returns it; nil when none does within timeout.
func (g *guest) waitJournal(timeout time.Duration, ok func(entry) bool, args ...string) entry {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range g.journal(args...) {
			if ok(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// count returns how many entries satisfy ok.
func count(entries []entry, ok func(entry) bool) int {
	n := 0
	for _, e := range entries {
		if ok(e) {
			n++
		}
	}
	return n
}

// requestLine matches qccd's log line for a request served by endpoint.
func requestLine(endpoint string) func(entry) bool {
	return func(e entry) bool {
		return e["MESSAGE"] == "request" && e["ENDPOINT"] == endpoint && e["STATUS"] == "200"
	}
}

// message matches an entry whose MESSAGE contains text.
func message(text string) func(entry) bool {
	return func(e entry) bool { return strings.Contains(e["MESSAGE"], text) }
}
