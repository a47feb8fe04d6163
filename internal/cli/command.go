package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// streams are where a command writes: results to stdout, diagnostics to
// stderr.
type streams struct {
	stdout, stderr io.Writer
	// colour is whether tables on stdout may use ANSI colours: only when
	// it is a terminal (see colourful).
	colour bool
}

// runFunc runs a command with its flags parsed and its positional
// arguments.
type runFunc func(ctx context.Context, out streams, args []string) error

// command is one qcc command, or a group of subcommands.
type command struct {
	name    string
	args    string // positional arguments for the usage line, e.g. "[PATH]"
	summary string // one line, for the parent's list of commands
	help    string // a paragraph for the command's own usage
	// setup registers the command's flags and returns the function that runs
	// it. Each command gets a fresh FlagSet, so flags bind to locals of setup
	// rather than to package state. Nil for a group.
	setup       func(fs *flag.FlagSet) runFunc
	subcommands []*command
}

// errReported means the command failed and has already said why on stdout,
// as a check that finds problems does.
var errReported = errors.New("failure reported")

// usageError is a wrong command line: qcc prints it with the usage and
// exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// execute runs c with args and returns the exit code. path is the
// command's full name, e.g. "qcc config check".
func (c *command) execute(ctx context.Context, out streams, args []string) int {
	return c.dispatch(ctx, out, c.name, args)
}

func (c *command) dispatch(ctx context.Context, out streams, path string, args []string) int {
	if c.setup == nil {
		return c.dispatchGroup(ctx, out, path, args)
	}

	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage is printed here, the same way for every command
	run := c.setup(fs)
	positional, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.usage(out.stdout, path, fs)
		return exitOK
	case err != nil:
		return c.usageFailure(out, path, fs, err)
	}

	err = run(ctx, out, positional)
	var uerr *usageError
	var herr *hintedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &uerr):
		return c.usageFailure(out, path, fs, err)
	case errors.Is(err, errReported):
		return exitFailure
	case errors.As(err, &herr):
		fmt.Fprintf(out.stderr, "%s: %v\n", path, herr.err)
		if herr.hint != "" {
			fmt.Fprintln(out.stderr, herr.hint)
		}
		return herr.code
	default:
		fmt.Fprintf(out.stderr, "%s: %v\n", path, err)
		return exitFailure
	}
}

func (c *command) dispatchGroup(ctx context.Context, out streams, path string, args []string) int {
	if len(args) == 0 {
		return c.usageFailure(out, path, nil, usageErrorf("missing command"))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		c.usage(out.stdout, path, nil)
		return exitOK
	}
	for _, sub := range c.subcommands {
		if sub.name == args[0] {
			return sub.dispatch(ctx, out, path+" "+sub.name, args[1:])
		}
	}
	return c.usageFailure(out, path, nil, usageErrorf("unknown command %q", args[0]))
}

func (c *command) usageFailure(out streams, path string, fs *flag.FlagSet, err error) int {
	fmt.Fprintf(out.stderr, "%s: %v\n\n", path, err)
	c.usage(out.stderr, path, fs)
	return exitUsage
}

// usage writes the command's usage: its synopsis, help, and flags or
// subcommands.
func (c *command) usage(w io.Writer, path string, fs *flag.FlagSet) {
	var b strings.Builder
	if c.setup == nil {
		fmt.Fprintf(&b, "usage: %s <command> [flags] [arguments]\n", path)
	} else {
		fmt.Fprintf(&b, "usage: %s [flags]%s\n", path, prefixSpace(c.args))
	}
	if help := c.help; help != "" || c.summary != "" {
		if help == "" {
			help = c.summary + "."
		}
		fmt.Fprintf(&b, "\n%s\n", help)
	}
	if c.setup == nil {
		b.WriteString("\ncommands:\n")
		var lines [][2]string
		c.walk(path, func(name string, leaf *command) {
			lines = append(lines, [2]string{strings.TrimPrefix(name, path+" "), leaf.summary})
		})
		writeColumns(&b, lines)
	}
	if fs != nil {
		var lines [][2]string
		fs.VisitAll(func(f *flag.Flag) {
			// UnquoteUsage names a flag's value after a `word` in its usage.
			value, usage := flag.UnquoteUsage(f)
			lines = append(lines, [2]string{strings.TrimSpace("--" + f.Name + " " + value), usage})
		})
		if len(lines) > 0 {
			b.WriteString("\nflags:\n")
			writeColumns(&b, lines)
		}
	}
	io.WriteString(w, b.String())
}

// walk calls fn for every runnable command below c, with its full name.
func (c *command) walk(path string, fn func(name string, leaf *command)) {
	for _, sub := range c.subcommands {
		name := path + " " + sub.name
		if sub.setup != nil {
			fn(name, sub)
		}
		sub.walk(name, fn)
	}
}

func writeColumns(b *strings.Builder, lines [][2]string) {
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(b, "  %-*s  %s\n", width, l[0], l[1])
	}
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// parseArgs parses flags wherever they appear among the arguments, so that
// `qcc config check FILE --json` works like `qcc config check --json FILE`.
// Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// writeJSON writes v as indented JSON, the --json output of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
