package config

import (
	"sort"
	"strconv"
	"strings"
)

// keyPath names one node of a TOML document: a table, a key, or an element of
// an array, e.g. clusters.prod.endpoints[1].api_key. Keys are quoted in the
// encoding so that distinct paths never share a string.
type keyPath string

// key returns the path of key k inside p.
func (p keyPath) key(k string) keyPath { return p + "." + keyPath(strconv.Quote(k)) }

// index returns the path of element i of the array at p.
func (p keyPath) index(i int) keyPath { return p + "[" + keyPath(strconv.Itoa(i)) + "]" }

// lineIndex maps the nodes of a TOML document to the lines they start on.
//
// BurntSushi/toml v1.6 records key positions only privately, and only one per
// dotted key name, so the entries of an array of tables such as
// [[clusters.prod.endpoints]] would all share the last entry's lines. Problems
// must point at the entry that has them, hence this index. It scans a
// document the toml package has already accepted, so it can be lenient: on
// input it does not understand it stops early and lookups fall back to the
// enclosing table's line.
type lineIndex map[keyPath]int

// indexLines builds the lineIndex of src.
func indexLines(src string) lineIndex {
	s := &lineScanner{
		src:     src,
		offsets: make(map[keyPath]int),
		arrays:  make(map[keyPath]int),
	}
	s.document()

	newlines := []int{}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			newlines = append(newlines, i)
		}
	}
	idx := make(lineIndex, len(s.offsets))
	for p, off := range s.offsets {
		// The line of an offset is one more than the newlines before it.
		idx[p] = sort.SearchInts(newlines, off) + 1
	}
	return idx
}

// lineScanner walks a TOML document recording the byte offset at which each
// node starts.
type lineScanner struct {
	src     string
	i       int
	offsets map[keyPath]int
	arrays  map[keyPath]int // entries seen so far of each array of tables
}

func (s *lineScanner) eof() bool { return s.i >= len(s.src) }

// rest returns the unscanned input.
func (s *lineScanner) rest() string {
	if s.eof() {
		return ""
	}
	return s.src[s.i:]
}

func (s *lineScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

// mark records that p starts at off unless an earlier line already claimed
// it: a table named implicitly by a dotted key keeps its first mention.
func (s *lineScanner) mark(p keyPath, off int) {
	if _, ok := s.offsets[p]; !ok {
		s.offsets[p] = off
	}
}

// skipSpace skips spaces and tabs, and with newlines also line breaks and
// comments.
func (s *lineScanner) skipSpace(newlines bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t':
			s.i++
		case newlines && (c == '\n' || c == '\r'):
			s.i++
		case newlines && c == '#':
			for !s.eof() && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

func (s *lineScanner) document() {
	s.i = len(s.src) - len(strings.TrimPrefix(s.src, "\xef\xbb\xbf"))
	table := keyPath("")
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		start := s.i
		switch {
		case strings.HasPrefix(s.rest(), "[["):
			s.i += 2
			keys := s.key()
			p := s.resolve(keys[:len(keys)-1], start)
			p = p.key(keys[len(keys)-1])
			s.mark(p, start)
			n := s.arrays[p]
			s.arrays[p] = n + 1
			table = p.index(n)
			s.offsets[table] = start
			s.skipLine()
		case s.peek() == '[':
			s.i++
			table = s.resolve(s.key(), start)
			s.skipLine()
		default:
			s.keyval(table)
		}
		if s.i == start {
			// Not TOML this scanner knows; give up rather than loop.
			return
		}
	}
}

// resolve turns the keys of a table header into a path, stepping into the
// latest entry of every array of tables on the way, and marks the tables it
// names.
func (s *lineScanner) resolve(keys []string, off int) keyPath {
	var p keyPath
	for _, k := range keys {
		p = p.key(k)
		s.mark(p, off)
		if n, ok := s.arrays[p]; ok {
			p = p.index(n - 1)
		}
	}
	return p
}

// skipLine skips the rest of a header line.
func (s *lineScanner) skipLine() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.i++
	}
}

// keyval scans key = value inside the table at p.
func (s *lineScanner) keyval(p keyPath) {
	start := s.i
	for _, k := range s.key() {
		p = p.key(k)
		s.mark(p, start)
	}
	s.skipSpace(false)
	if s.peek() != '=' {
		return
	}
	s.i++
	s.skipSpace(false)
	s.value(p)
}

// key scans a possibly dotted key and returns its parts.
func (s *lineScanner) key() []string {
	var keys []string
	for {
		s.skipSpace(false)
		switch s.peek() {
		case '"':
			keys = append(keys, s.basicString())
		case '\'':
			keys = append(keys, s.literalString())
		default:
			start := s.i
			for !s.eof() && isBareKeyChar(s.src[s.i]) {
				s.i++
			}
			keys = append(keys, s.src[start:s.i])
		}
		s.skipSpace(false)
		if s.peek() != '.' {
			return keys
		}
		s.i++
	}
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// value scans one value whose path is p, marking array elements and the keys
// of inline tables.
func (s *lineScanner) value(p keyPath) {
	switch {
	case strings.HasPrefix(s.rest(), `"""`):
		s.multilineString('"')
	case strings.HasPrefix(s.rest(), `'''`):
		s.multilineString('\'')
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[':
		s.i++
		for n := 0; ; n++ {
			s.skipSpace(true)
			if s.eof() || s.peek() == ']' {
				s.i++
				return
			}
			start := s.i
			s.mark(p.index(n), start)
			s.value(p.index(n))
			s.skipSpace(true)
			if s.peek() == ',' {
				s.i++
			} else if s.i == start {
				return
			}
		}
	case s.peek() == '{':
		s.i++
		for {
			s.skipSpace(true)
			if s.eof() || s.peek() == '}' {
				s.i++
				return
			}
			start := s.i
			s.keyval(p)
			s.skipSpace(true)
			if s.peek() == ',' {
				s.i++
			} else if s.i == start {
				return
			}
		}
	default:
		// Numbers, booleans and datetimes; a datetime may contain a space.
		for !s.eof() && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

// basicString scans a "quoted" string and returns its contents.
func (s *lineScanner) basicString() string {
	s.i++
	start := s.i
	for !s.eof() {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"', '\n':
			raw := s.src[start:s.i]
			s.i++
			if v, err := strconv.Unquote(`"` + raw + `"`); err == nil {
				return v
			}
			return raw
		}
		s.i++
	}
	return s.src[start:]
}

// literalString scans a 'quoted' string and returns its contents.
func (s *lineScanner) literalString() string {
	s.i++
	start := s.i
	for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
		s.i++
	}
	v := s.src[start:min(s.i, len(s.src))]
	s.i++
	return v
}

// multilineString scans a """ or ”' string. Up to two quotes may directly
// precede the closing delimiter as part of the contents.
func (s *lineScanner) multilineString(q byte) {
	delim := strings.Repeat(string(q), 3)
	s.i += 3
	for !s.eof() {
		if q == '"' && s.src[s.i] == '\\' {
			s.i += 2
			continue
		}
		if strings.HasPrefix(s.rest(), delim) {
			s.i += 3
			for extra := 0; extra < 2 && s.peek() == q; extra++ {
				s.i++
			}
			return
		}
		s.i++
	}
}
