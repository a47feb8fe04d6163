// Package cli is qcc, the command-line client of qccd.
//
// Each command lives in its own file as a function returning a *command;
// root lists them. Commands that talk to the daemon's admin API share its
// --admin flag and the way they explain failures (admin.go).
package cli

import (
	"context"
	"io"
)

// Exit codes, the same for every command.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and found problems (qccd reports one), or could not run
	exitUsage   = 2 // the command line was wrong, or qccd could not be reached
)

// Run runs qcc with args, which exclude the program name, and returns the
// process's exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return root().execute(ctx, streams{stdout: stdout, stderr: stderr, colour: colourful(stdout)}, args)
}

// root is the tree of qcc's commands.
func root() *command {
	return &command{
		name: "qcc",
		help: "qcc is the command-line client of qccd, the Anthropic API gateway.",
		subcommands: []*command{
			statusCommand(),
			endpointsCommand(),
			statsCommand(),
			healthCommand(),
			probeCommand(),
			enableCommand(),
			disableCommand(),
			drainCommand(),
			reloadCommand(),
			{
				name:        "config",
				summary:     "Work with clusters.toml",
				subcommands: []*command{configCheckCommand()},
			},
			versionCommand(),
		},
	}
}
