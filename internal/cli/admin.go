package cli

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// Environment variables the admin commands read.
const (
	envAdmin      = "QCC_ADMIN"       // the admin API's address, like --admin
	envAdminToken = "QCC_ADMIN_TOKEN" // the Bearer token of a TCP admin listener
)

// adminFlag registers --admin, which every command that talks to qccd
// takes, and returns a function that makes the client.
func adminFlag(fs *flag.FlagSet) func() (*adminapi.Client, error) {
	addr := fs.String("admin", "", "reach qccd at `ADDR`, a socket path or http(s)://host:port "+
		"(default $"+envAdmin+", else "+adminapi.DefaultSocket+")")
	return func() (*adminapi.Client, error) {
		a := *addr
		if a == "" {
			a = os.Getenv(envAdmin)
		}
		if a == "" {
			a = adminapi.DefaultSocket
		}
		var opts []adminapi.Option
		if tok := os.Getenv(envAdminToken); tok != "" {
			opts = append(opts, adminapi.WithToken(tok))
		}
		c, err := adminapi.NewClient(a, opts...)
		if err != nil {
			return nil, usageErrorf("--admin: %v", err)
		}
		return c, nil
	}
}

// hintedError is a failure with advice on what to do about it and its own
// exit code.
type hintedError struct {
	err  error
	hint string // may be empty
	code int
}

func (e *hintedError) Error() string { return e.err.Error() }

func (e *hintedError) Unwrap() error { return e.err }

// explain turns an admin API failure into what qcc tells its user and the
// exit code: 2 when qccd could not be reached or the command named
// something qccd does not have, 1 when qccd said no.
func explain(c *adminapi.Client, err error) error {
	var cerr *adminapi.ConnError
	if errors.As(err, &cerr) {
		hint := "is qccd running? tried " + c.Addr() + " (set --admin or " + envAdmin + ")"
		if errors.Is(err, syscall.EACCES) {
			hint = "the admin socket is mode 0660: run qcc as root or as a member of the socket's group"
		}
		return &hintedError{err: fmt.Errorf("cannot reach qccd: %w", cerr.Err), hint: hint, code: exitUsage}
	}
	var aerr *adminapi.APIError
	if !errors.As(err, &aerr) {
		return err
	}
	msg := errors.New(aerr.Message)
	switch aerr.StatusCode {
	case http.StatusUnauthorized:
		return &hintedError{err: msg, hint: "set " + envAdminToken + " to qccd's admin_token", code: exitUsage}
	case http.StatusBadRequest, http.StatusNotFound:
		return &hintedError{err: msg, code: exitUsage}
	}
	return &hintedError{err: msg, code: exitFailure}
}

// endpointArg splits CLUSTER/ENDPOINT.
func endpointArg(args []string) (cluster, endpoint string, err error) {
	if len(args) != 1 {
		return "", "", usageErrorf("want one CLUSTER/ENDPOINT")
	}
	cluster, endpoint, ok := strings.Cut(args[0], "/")
	if !ok || cluster == "" || endpoint == "" || strings.Contains(endpoint, "/") {
		return "", "", usageErrorf("%q is not CLUSTER/ENDPOINT", args[0])
	}
	return cluster, endpoint, nil
}

// down reports whether an endpoint is out of rotation against an operator's
// wishes: cooling down or failing authentication. Disabled is a choice.
func down(ep adminapi.Endpoint) bool {
	return ep.State == "cooling-down" || ep.State == "auth-failed"
}
