package config

import (
	"cmp"
	"slices"
	"strings"
)

// Error is every problem found in a config file, so that one run of
// `qcc config check` shows them all. Get it with errors.As.
type Error struct {
	Problems []Problem
	// Warnings are the non-fatal findings made along the way, so that the
	// report of a broken file can show them too.
	Warnings []Problem
}

// Error renders one problem per line, each as file:line: message.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems as they appear in the file, keeping the
// order they were found in within one line.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
}
