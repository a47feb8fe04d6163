package cli

import (
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
)

// ANSI colours for table cells. Every code is five bytes, and a coloured
// table wraps every cell in one of them and in reset: tabwriter counts the
// codes as text, so equal lengths keep the columns aligned.
const (
	plain  = "\x1b[39m" // the terminal's own colour
	bold   = "\x1b[01m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	grey   = "\x1b[90m"
	reset  = "\x1b[0m"
)

// colourful reports whether w is a terminal that should get colours: not
// when NO_COLOR is set (no-color.org) or TERM is dumb.
func colourful(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// cell is one table cell and its colour ("" for plain).
type cell struct {
	text, colour string
}

// table is a table for people: a header and rows, aligned in columns.
type table struct {
	header []string
	rows   [][]cell
}

func newTable(header ...string) *table { return &table{header: header} }

// rowCells adds a row whose cells may be coloured.
func (t *table) rowCells(cells ...cell) { t.rows = append(t.rows, cells) }

// write renders the table, with colours when colour is set.
func (t *table) write(w io.Writer, colour bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var b strings.Builder
	line := func(cells []cell) {
		b.Reset()
		for i, c := range cells {
			if i > 0 {
				b.WriteByte('\t')
			}
			// Tabs and newlines would break the layout; names never hold
			// them, reasons from upstreams might.
			text := strings.Map(func(r rune) rune {
				if r == '\t' || r == '\n' || r == '\r' {
					return ' '
				}
				return r
			}, c.text)
			if colour {
				code := c.colour
				if code == "" {
					code = plain
				}
				text = code + text + reset
			}
			b.WriteString(text)
		}
		b.WriteByte('\n')
		io.WriteString(tw, b.String())
	}
	head := make([]cell, len(t.header))
	for i, h := range t.header {
		head[i] = cell{text: h, colour: bold}
	}
	line(head)
	for _, r := range t.rows {
		line(r)
	}
	return tw.Flush()
}

// stateColour is the colour of an endpoint state.
func stateColour(state string) string {
	switch state {
	case "available":
		return green
	case "cooling-down", "draining":
		return yellow
	case "auth-failed":
		return red
	case "disabled":
		return grey
	}
	return ""
}

// paint colours s when colour is set.
func paint(s, code string, colour bool) string {
	if !colour || code == "" {
		return s
	}
	return code + s + reset
}
