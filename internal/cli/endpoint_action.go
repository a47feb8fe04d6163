package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// enableCommand is `qcc enable CLUSTER/ENDPOINT`.
func enableCommand() *command {
	return endpointActionCommand("enable", "Put an endpoint back into rotation",
		"Enable puts an endpoint that was disabled or drained back into rotation. It\n"+
			"starts as unknown and takes traffic at once.",
		(*adminapi.Client).Enable)
}

// disableCommand is `qcc disable CLUSTER/ENDPOINT`.
func disableCommand() *command {
	return endpointActionCommand("disable", "Take an endpoint out of rotation",
		"Disable takes an endpoint out of rotation: it gets no new requests until\n"+
			"qcc enable. Requests already on it finish. The endpoint stays disabled\n"+
			"across reloads while its identity (name, base_url, key) is unchanged.",
		(*adminapi.Client).Disable)
}

// drainCommand is `qcc drain CLUSTER/ENDPOINT`.
func drainCommand() *command {
	return endpointActionCommand("drain", "Take an endpoint out of rotation and let its streams finish",
		"Drain takes an endpoint out of rotation, like disable, and says how many\n"+
			"requests are still in flight on it; they finish undisturbed. qcc status shows\n"+
			"the endpoint as draining until the last one has. Then it is safe to remove.",
		(*adminapi.Client).Drain)
}

// endpointActionCommand is a command that changes one endpoint's rotation.
func endpointActionCommand(name, summary, help string,
	act func(*adminapi.Client, context.Context, string, string) (*adminapi.ActionResult, error)) *command {
	return &command{
		name:    name,
		args:    "CLUSTER/ENDPOINT",
		summary: summary,
		help:    help,
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the result as JSON")
			return func(ctx context.Context, out streams, args []string) error {
				cluster, endpoint, err := endpointArg(args)
				if err != nil {
					return err
				}
				c, err := dial()
				if err != nil {
					return err
				}
				res, err := act(c, ctx, cluster, endpoint)
				if err != nil {
					return explain(c, err)
				}
				if *asJSON {
					return writeJSON(out.stdout, res)
				}
				_, err = fmt.Fprintln(out.stdout, res.Message)
				return err
			}
		},
	}
}
