package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuild(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.modified", Value: modified},
		}
	}
	tests := []struct {
		name         string
		linkVersion  string
		linkRevision string
		bi           *debug.BuildInfo
		want         Info
	}{
		{
			name: "no build info at all",
			want: Info{Version: "devel"},
		},
		{
			name: "local build without vcs stamping",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: "devel", GoVersion: "go1.26.8"},
		},
		{
			name: "go install of a tagged module",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.1"}},
			want: Info{Version: "0.3.1", GoVersion: "go1.26.8"},
		},
		{
			name: "clean checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: vcs("abc1234def5678", "false")},
			want: Info{Version: "devel", Revision: "abc1234", GoVersion: "go1.26.8"},
		},
		{
			name: "modified checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: vcs("abc1234def5678", "true")},
			want: Info{Version: "devel", Revision: "abc1234-dirty", GoVersion: "go1.26.8"},
		},
		{
			name:         "release build stamped with -ldflags wins over the toolchain",
			linkVersion:  "0.1.0",
			linkRevision: "feedbee",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20250101000000-abc1234def56"},
				Settings: vcs("abc1234def5678", "true")},
			want: Info{Version: "0.1.0", Revision: "feedbee", GoVersion: "go1.26.8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuild(tt.linkVersion, tt.linkRevision, tt.bi)
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = runtime.Version()
			}
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got != tt.want {
				t.Errorf("fromBuild() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	tests := []struct {
		info Info
		want string
	}{
		{
			info: Info{Version: "0.1.0", Revision: "abc1234", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			want: "qccd 0.1.0 (go1.26.8, linux/amd64, rev abc1234)",
		},
		{
			info: Info{Version: "devel", GoVersion: "go1.26.8", Platform: "darwin/arm64"},
			want: "qccd devel (go1.26.8, darwin/arm64)",
		},
	}
	for _, tt := range tests {
		if got := tt.info.String("qccd"); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestStringNamesProgramAndVersion(t *testing.T) {
	got := String("qcc")
	if want := "qcc " + Version() + " ("; !strings.HasPrefix(got, want) {
		t.Errorf("String(%q) = %q, want prefix %q", "qcc", got, want)
	}
	if !strings.Contains(got, runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("String(%q) = %q, want the platform in it", "qcc", got)
	}
}
