// Package buildinfo says which build of qcc is running, for --version output,
// logs and bug reports.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version and revision are set at link time by release builds:
//
//	go build -ldflags "-X github.com/qcc-dev/qcc/internal/buildinfo.version=0.1.0 \
//	                   -X github.com/qcc-dev/qcc/internal/buildinfo.revision=abc1234"
//
// They are package variables only because -X can set nothing else; read them
// through Read. Builds without them fall back to what the Go toolchain
// recorded (module version, VCS revision).
var (
	version  string
	revision string
)

// Info describes one build.
type Info struct {
	Version   string `json:"version"`            // e.g. "0.1.0", or "devel" for an untagged local build
	Revision  string `json:"revision,omitempty"` // short VCS revision, "-dirty" when built from modified sources
	GoVersion string `json:"go"`                 // toolchain, e.g. "go1.26.8"
	Platform  string `json:"platform"`           // GOOS/GOARCH, e.g. "linux/amd64"
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return fromBuild(version, revision, bi)
}

// Version returns the running binary's version, e.g. "0.1.0" or "devel".
func Version() string { return Read().Version }

// String renders the build for --version output, e.g.
// "qccd 0.1.0 (go1.26.8, linux/amd64, rev abc1234)".
func String(program string) string { return Read().String(program) }

// String renders info the way the package-level String does.
func (info Info) String(program string) string {
	var b strings.Builder
	b.WriteString(program)
	b.WriteString(" ")
	b.WriteString(info.Version)
	b.WriteString(" (")
	b.WriteString(info.GoVersion)
	b.WriteString(", ")
	b.WriteString(info.Platform)
	if info.Revision != "" {
		b.WriteString(", rev ")
		b.WriteString(info.Revision)
	}
	b.WriteString(")")
	return b.String()
}

// fromBuild merges link-time values with the toolchain's record; link-time
// values win because a packager sets them on purpose. bi may be nil.
func fromBuild(linkVersion, linkRevision string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   linkVersion,
		Revision:  linkRevision,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" {
			info.Version = moduleVersion(bi.Main.Version)
		}
		if info.Revision == "" {
			info.Revision = vcsRevision(bi.Settings)
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
}

// moduleVersion turns a module version such as "v0.1.0" into "0.1.0", the
// form release builds stamp; "(devel)" means the toolchain knows none.
func moduleVersion(v string) string {
	if v == "" || v == "(devel)" {
		return ""
	}
	return strings.TrimPrefix(v, "v")
}

// vcsRevision returns the short commit the binary was built from, marked
// "-dirty" when the work tree had uncommitted changes.
func vcsRevision(settings []debug.BuildSetting) string {
	var rev string
	var modified bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if modified {
		rev += "-dirty"
	}
	return rev
}
