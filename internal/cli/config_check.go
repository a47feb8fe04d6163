package cli

import (
	"context"
	"flag"

	"github.com/qcc-dev/qcc/internal/config"
)

// configCheckCommand is `qcc config check [PATH]`.
func configCheckCommand() *command {
	return &command{
		name:    "check",
		args:    "[PATH]",
		summary: "Check a config file for problems",
		help: "Check reads PATH (default " + config.DefaultPath + ") as qccd would and prints every\n" +
			"problem as file:line: message, then any warnings. It exits 1 if there is a problem.\n" +
			"Secret references are resolved in this process's environment: env: from its\n" +
			"variables, credential: from --credentials-dir. qccd --check-config checks in the\n" +
			"daemon's own.",
		setup: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print the report as JSON")
			credentials := fs.String("credentials-dir", "",
				"read credential:NAME from `DIR` (default $CREDENTIALS_DIRECTORY)")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 1 {
					return usageErrorf("too many arguments: want at most one PATH")
				}
				path := config.DefaultPath
				if len(args) == 1 {
					path = args[0]
				}
				report := config.NewReport(config.LoadWith(path, config.Options{CredentialsDir: *credentials}))
				var err error
				if *asJSON {
					err = writeJSON(out.stdout, report)
				} else {
					err = report.WriteText(out.stdout)
				}
				switch {
				case err != nil:
					return err
				case !report.OK:
					return errReported
				}
				return nil
			}
		},
	}
}
