package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// healthReport is qcc health's answer, and its --json output.
type healthReport struct {
	Live      bool                `json:"live"`
	Ready     bool                `json:"ready"`
	NotReady  string              `json:"not_ready,omitempty"` // why not, when not
	Problems  []string            `json:"problems,omitempty"`
	Endpoints []adminapi.Endpoint `json:"endpoints"`

	status *adminapi.Status
}

// healthCommand is `qcc health`.
func healthCommand() *command {
	return &command{
		name:    "health",
		summary: "Check that qccd is live and ready, and how each endpoint's health checks go",
		help: "Health asks qccd whether it is live and ready (what /healthz and /readyz\n" +
			"answer a supervisor), then shows each endpoint's state, its last active health\n" +
			"check and why it is where it is. It exits 1 when qccd is not ready or reports\n" +
			"a problem.",
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the report as JSON")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q", args[0])
				}
				c, err := dial()
				if err != nil {
					return err
				}
				rep, err := checkHealth(ctx, c)
				if err != nil {
					return explain(c, err)
				}
				if *asJSON {
					err = writeJSON(out.stdout, rep)
				} else {
					err = writeHealth(out.stdout, rep, out.colour)
				}
				switch {
				case err != nil:
					return err
				case !rep.Ready || len(rep.Problems) > 0:
					return errReported
				}
				return nil
			}
		},
	}
}

func checkHealth(ctx context.Context, c *adminapi.Client) (*healthReport, error) {
	if _, err := c.Healthz(ctx); err != nil {
		return nil, err
	}
	rep := &healthReport{Live: true, Ready: true}
	if _, err := c.Readyz(ctx); err != nil {
		var aerr *adminapi.APIError
		if !errors.As(err, &aerr) || aerr.StatusCode != http.StatusServiceUnavailable {
			return nil, err
		}
		rep.Ready, rep.NotReady = false, aerr.Message
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	rep.status, rep.Problems = st, st.Problems
	rep.Endpoints = []adminapi.Endpoint{}
	for _, cl := range st.Clusters {
		rep.Endpoints = append(rep.Endpoints, cl.Endpoints...)
	}
	return rep, nil
}

func writeHealth(w io.Writer, rep *healthReport, colour bool) error {
	var b bytes.Buffer
	st := rep.status
	verdict := paint("live and ready", green, colour)
	if !rep.Ready {
		verdict = paint("live but not ready", red, colour) + " (" + strings.TrimPrefix(rep.NotReady, "not ready: ") + ")"
	}
	fmt.Fprintf(&b, "qccd %s is %s, up %s\n\n", st.Version, verdict, span(time.Duration(st.Uptime)))

	t := newTable("CLUSTER", "ENDPOINT", "STATE", "LAST CHECK", "LAST ERROR", "REASON")
	for _, ep := range rep.Endpoints {
		state := endpointState(ep)
		check := "-"
		if ep.LastCheck != nil {
			check = ago(st.Now, *ep.LastCheck)
		}
		t.rowCells(cell{text: ep.Cluster}, cell{text: ep.Name}, cell{text: state, colour: stateColour(state)},
			cell{text: check}, cell{text: orDash(ep.LastError)}, cell{text: reason(st.Now, ep)})
	}
	if err := t.write(&b, colour); err != nil {
		return err
	}
	writeProblems(&b, rep.Problems, colour)
	_, err := w.Write(b.Bytes())
	return err
}
