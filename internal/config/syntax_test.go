package config

import (
	"errors"
	"testing"
)

// TestSyntaxErrorLineAtEndOfLine pins an off-by-one: the TOML parser stops
// at the newline that ends a broken line and counts it as the next line, so
// an unclosed table header on line 3 was reported on line 4.
func TestSyntaxErrorLineAtEndOfLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		line int
	}{
		{"unclosed table header", "[daemon]\nlog_level = \"info\"\n[clusters.x\nlisten = \"a\"\n", 3},
		{"newline in a string", "a = \"b\n", 1},
		{"bad value mid-line", "a = 1\nb = = 2\n", 2},
		{"unclosed header on the last line without newline", "a = 1\n[x", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(tc.text), Options{})
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) != 1 {
				t.Fatalf("err = %v", err)
			}
			if got := cerr.Problems[0].Line; got != tc.line {
				t.Errorf("line %d, want %d: %s", got, tc.line, cerr.Problems[0])
			}
		})
	}
}
