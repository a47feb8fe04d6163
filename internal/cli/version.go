package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/qcc-dev/qcc/internal/buildinfo"
)

// versionCommand is `qcc version`.
func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "Print qcc's version",
		setup: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print the version as JSON")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q", args[0])
				}
				info := buildinfo.Read()
				if *asJSON {
					return writeJSON(out.stdout, struct {
						Program string `json:"program"`
						buildinfo.Info
					}{"qcc", info})
				}
				_, err := fmt.Fprintln(out.stdout, info.String("qcc"))
				return err
			}
		},
	}
}
