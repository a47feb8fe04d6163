package config

import (
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"
)

// decoder turns the generic tree the toml package produces into a Config,
// collecting every problem on the way instead of stopping at the first.
//
// Decoding from a map rather than into tagged structs is what makes that
// possible: the toml package stops at the first type mismatch and cannot say
// which entry of an array of tables it was in.
type decoder struct {
	file    string
	lines   lineIndex
	secrets resolver
	// mode is the config file's permission bits, 0 when unknown.
	mode fs.FileMode

	problems []Problem
	warnings []Problem
}

func (d *decoder) problemf(line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(line int, format string, args ...any) {
	d.warnings = append(d.warnings, Problem{File: d.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// lineOf returns the line p starts on, or fallback when the index has none.
func (d *decoder) lineOf(p keyPath, fallback int) int {
	if l, ok := d.lines[p]; ok {
		return l
	}
	return fallback
}

// table is one TOML table being decoded. Its getters leave the destination
// untouched when the key is absent, so callers preset defaults; they report
// type mismatches themselves; and they remember which keys were asked for,
// so that done can report the rest as unknown. The getters a section calls
// are therefore its schema.
type table struct {
	d    *decoder
	path keyPath
	// name is how messages refer to the table, e.g. "endpoint prod/main";
	// empty for the document's top level.
	name string
	line int
	m    map[string]any
	read map[string]bool
}

func (d *decoder) root(m map[string]any) *table {
	return &table{d: d, m: m, read: map[string]bool{}}
}

// child returns the table m found at path.
func (t *table) child(path keyPath, name string, m map[string]any) *table {
	return &table{d: t.d, path: path, name: name, line: t.d.lineOf(path, t.line), m: m, read: map[string]bool{}}
}

// lineOf returns the line of key, or of the table when key is absent.
func (t *table) lineOf(key string) int {
	return t.d.lineOf(t.path.key(key), t.line)
}

// errorf records a problem at key's line (the table's line for key ""),
// prefixed with the table's name.
func (t *table) errorf(key, format string, args ...any) {
	line := t.line
	if key != "" {
		line = t.lineOf(key)
	}
	t.d.problemf(line, "%s", t.prefix(fmt.Sprintf(format, args...)))
}

func (t *table) prefix(msg string) string {
	if t.name == "" {
		return msg
	}
	return t.name + ": " + msg
}

// has reports whether key is present, without counting it as read.
func (t *table) has(key string) bool {
	_, ok := t.m[key]
	return ok
}

func (t *table) get(key string) (any, bool) {
	t.read[key] = true
	v, ok := t.m[key]
	return v, ok
}

func (t *table) typeError(key, want string, v any) {
	t.errorf(key, "%s must be %s, not %s", key, want, tomlType(v))
}

// string sets *dst to the string at key.
func (t *table) string(key string, dst *string) bool {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		t.typeError(key, "a string", v)
		return false
	}
	*dst = s
	return true
}

// bool sets *dst to the boolean at key.
func (t *table) bool(key string, dst *bool) bool {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		t.typeError(key, "true or false", v)
		return false
	}
	*dst = b
	return true
}

// int sets *dst to the integer at key, which must be at least least.
func (t *table) int(key string, dst *int, least int) bool {
	var n int64
	if !t.int64(key, &n, int64(least)) {
		return false
	}
	if n > math.MaxInt {
		t.errorf(key, "%s is too large", key)
		return false
	}
	*dst = int(n)
	return true
}

// int64 sets *dst to the integer at key, which must be at least least.
func (t *table) int64(key string, dst *int64, least int64) bool {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	n, ok := v.(int64)
	if !ok {
		t.typeError(key, "an integer", v)
		return false
	}
	if n < least {
		t.errorf(key, "%s must be at least %d, got %d", key, least, n)
		return false
	}
	*dst = n
	return true
}

// fraction sets *dst to the number at key, which must be in [0, 1).
func (t *table) fraction(key string, dst *float64) bool {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int64:
		f = float64(n)
	default:
		t.typeError(key, "a number", v)
		return false
	}
	if !(f >= 0 && f < 1) { // also rejects NaN
		t.errorf(key, "%s must be at least 0 and below 1, got %v", key, f)
		return false
	}
	*dst = f
	return true
}

// duration sets *dst to the duration at key, written as a string like "60s".
// Negative durations are an error.
func (t *table) duration(key string, dst *time.Duration) bool {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		if _, isNumber := v.(int64); isNumber {
			// The toml package would read it as nanoseconds; nobody means that.
			t.errorf(key, "%s must be a duration with a unit, such as \"60s\" or \"5m\"", key)
			return false
		}
		t.typeError(key, `a duration such as "60s"`, v)
		return false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.errorf(key, "%s: %q is not a duration such as \"60s\" or \"5m\"", key, s)
		return false
	}
	if d < 0 {
		t.errorf(key, "%s must not be negative, got %s", key, s)
		return false
	}
	*dst = d
	return true
}

// enum sets *dst to the string at key, which must be one of allowed.
func enum[T ~string](t *table, key string, dst *T, allowed ...T) bool {
	var s string
	if !t.string(key, &s) {
		return false
	}
	if !slices.Contains(allowed, T(s)) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		t.errorf(key, "unknown %s %q (want %s)", key, s, orList(names))
		return false
	}
	*dst = T(s)
	return true
}

// secret resolves the secret reference at key into *dst and reports what
// fails. It returns whether key holds a reference at all, treating "" as
// none, so that callers can say a missing one is needed without repeating
// why a present one failed.
func (t *table) secret(key string, dst *Secret) (present bool) {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	ref, ok := v.(string)
	if !ok {
		t.typeError(key, "a string", v)
		return true
	}
	if ref == "" {
		return false
	}
	if s, ok := t.resolveAt(t.lineOf(key), key, ref); ok {
		*dst = s
	}
	return true
}

// secrets resolves the array of secret references at key.
func (t *table) secrets(key string) []Secret {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	refs, ok := v.([]any)
	if !ok {
		t.typeError(key, "an array of strings", v)
		return nil
	}
	var out []Secret
	for i, r := range refs {
		what := fmt.Sprintf("%s[%d]", key, i)
		line := t.d.lineOf(t.path.key(key).index(i), t.lineOf(key))
		ref, ok := r.(string)
		if !ok {
			t.d.problemf(line, "%s", t.prefix(fmt.Sprintf("%s must be a string, not %s", what, tomlType(r))))
			continue
		}
		if ref == "" {
			t.d.problemf(line, "%s", t.prefix(what+" is empty"))
			continue
		}
		if s, ok := t.resolveAt(line, what, ref); ok {
			out = append(out, s)
		}
	}
	return out
}

// resolveAt resolves ref for the setting what, found on line. Messages name
// the reference, never the value.
func (t *table) resolveAt(line int, what, ref string) (Secret, bool) {
	s, err := t.d.secrets.resolve(ref)
	if err != nil {
		t.d.problemf(line, "%s", t.prefix(what+": "+err.Error()))
		return Secret{}, false
	}
	if s.Ref() == refLiteral && t.d.mode&0o004 != 0 {
		t.d.warnf(line, "%s", t.prefix(fmt.Sprintf(
			"%s is a literal key in a file other users can read (mode %04o); use env:, file: or credential:, or chmod o-r the file",
			what, t.d.mode.Perm())))
	}
	return s, true
}

// table returns the table at key, named name in messages.
func (t *table) table(key, name string) (*table, bool) {
	v, ok := t.get(key)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.typeError(key, "a table", v)
		return nil, false
	}
	return t.child(t.path.key(key), name, m), true
}

// tables returns the tables of the array at key, written either as
// [[key]] sections or as an array of inline tables. Their names are left for
// the caller to set once it knows them.
func (t *table) tables(key string) []*table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	var ms []map[string]any
	switch a := v.(type) {
	case []map[string]any:
		ms = a
	case []any:
		for i, e := range a {
			m, ok := e.(map[string]any)
			if !ok {
				t.d.problemf(t.d.lineOf(t.path.key(key).index(i), t.lineOf(key)), "%s",
					t.prefix(fmt.Sprintf("%s[%d] must be a table, not %s", key, i, tomlType(e))))
				continue
			}
			ms = append(ms, m)
		}
	default:
		t.typeError(key, "an array of tables", v)
		return nil
	}
	out := make([]*table, len(ms))
	for i, m := range ms {
		out[i] = t.child(t.path.key(key).index(i), "", m)
	}
	return out
}

// keys returns the table's keys in the order they appear in the file, for
// sections named by their key such as [clusters.NAME].
func (t *table) keys() []string {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		t.read[k] = true
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if la, lb := t.lineOf(a), t.lineOf(b); la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	return keys
}

// done reports the keys nobody asked for: a misspelt key would otherwise
// silently leave its default in place.
func (t *table) done() {
	var unknown []string
	for k := range t.m {
		if !t.read[k] {
			unknown = append(unknown, k)
		}
	}
	slices.SortFunc(unknown, func(a, b string) int { return t.lineOf(a) - t.lineOf(b) })
	for _, k := range unknown {
		msg := fmt.Sprintf("unknown key %q", k)
		if s := t.suggest(k); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		t.errorf(k, "%s", msg)
	}
}

// suggest returns the known key closest to a misspelt one, or "".
func (t *table) suggest(unknown string) string {
	best, bestDist := "", len(unknown)/3+1
	for k := range t.read {
		if _, present := t.m[k]; present {
			continue
		}
		if d := editDistance(strings.ToLower(unknown), k); d <= bestDist && (best == "" || d < bestDist || k < best) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// tomlType names the TOML type of a decoded value for messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	default:
		return "a date or time"
	}
}

// orList renders a, b or c.
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
