package config

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Report is the outcome of checking a config, shaped both for people
// (WriteText) and for tools (encoding/json). `qcc config check` and
// `qccd --check-config` print it, so both say the same thing.
type Report struct {
	// Path is the file checked, or where the config came from when it was
	// not a file.
	Path string `json:"path"`
	OK   bool   `json:"ok"`
	// Error is why the file could not be read at all, if it could not.
	Error     string    `json:"error,omitempty"`
	Problems  []Problem `json:"problems"`
	Warnings  []Problem `json:"warnings"`
	Clusters  int       `json:"clusters"`
	Endpoints int       `json:"endpoints"`
}

// NewReport describes a load result, cfg and err as Load returned them.
func NewReport(cfg *Config, err error) Report {
	r := Report{Problems: []Problem{}, Warnings: []Problem{}}
	var cerr *Error
	switch {
	case errors.As(err, &cerr):
		r.Problems = append(r.Problems, cerr.Problems...)
		r.Warnings = append(r.Warnings, cerr.Warnings...)
		if len(cerr.Problems) > 0 {
			r.Path = cerr.Problems[0].File
		}
	case err != nil:
		r.Error = err.Error()
	case cfg == nil:
		r.Error = "no config"
	default:
		r.OK = true
		r.Path = cfg.Path
		if r.Path == "" {
			r.Path = cfg.Source
		}
		r.Warnings = append(r.Warnings, cfg.Warnings...)
		r.Clusters = len(cfg.Clusters)
		for _, c := range cfg.Clusters {
			r.Endpoints += len(c.Endpoints)
		}
	}
	return r
}

// WriteText writes the report for people: each problem as file:line:
// message, then the warnings, then a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.Error != "" {
		b.WriteString(r.Error + "\n")
	}
	for _, p := range r.Problems {
		b.WriteString(p.String() + "\n")
	}
	for _, p := range r.Warnings {
		b.WriteString(warningString(p) + "\n")
	}
	switch {
	case r.OK:
		fmt.Fprintf(&b, "%s: OK (%s, %s)\n", r.Path, count(r.Clusters, "cluster"), count(r.Endpoints, "endpoint"))
	case len(r.Problems) > 0:
		fmt.Fprintf(&b, "%s: %s\n", r.Path, count(len(r.Problems), "problem"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteReport writes the text report of a load result to w and reports
// whether the config is usable.
func WriteReport(w io.Writer, cfg *Config, err error) (ok bool) {
	r := NewReport(cfg, err)
	_ = r.WriteText(w) // the verdict stands whether or not the terminal took it
	return r.OK
}

// warningString renders a warning like Problem.String, marked as a warning
// after the position so that editors still jump to it.
func warningString(p Problem) string {
	p.Message = "warning: " + p.Message
	return p.String()
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
