package cli

import (
	"context"
	"flag"
	"fmt"
)

// reloadCommand is `qcc reload`.
func reloadCommand() *command {
	return &command{
		name:    "reload",
		summary: "Make qccd re-read its config now",
		help: "Reload makes qccd re-read and apply its config file, as SIGHUP does. A file\n" +
			"with problems changes nothing: qccd keeps running the old config, and qcc\n" +
			"prints every problem as file:line: message and exits 1.",
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the result as JSON")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q", args[0])
				}
				c, err := dial()
				if err != nil {
					return err
				}
				res, err := c.Reload(ctx)
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
