package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/buildinfo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// configTestdata holds the config package's example files.
const configTestdata = "../config/testdata"

// setTestEnv gives qcc the environment the config testdata files expect.
// Tests that call it cannot run in parallel.
func setTestEnv(t *testing.T) {
	t.Helper()
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-api03-from-env")
	t.Setenv("CLIENT_TOKEN", "sk-ant-client-from-env")
	t.Setenv("EMPTY_VAR", "")
	t.Setenv("CREDENTIALS_DIRECTORY", filepath.Join(configTestdata, "credentials"))
	t.Setenv("NO_SUCH_VAR", "")
	os.Unsetenv("NO_SUCH_VAR") // t.Setenv restores it afterwards
}

// run runs qcc with args and renders what a terminal would show.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestGolden runs qcc command lines and compares exit code, stdout and
// stderr with testdata/NAME.golden.
func TestGolden(t *testing.T) {
	team := configTestdata + "/team.good.toml"
	tests := []struct {
		name string
		args []string
	}{
		{"check-good", []string{"config", "check", team}},
		{"check-good-json", []string{"config", "check", "--json", team}},
		{"check-flag-after-path", []string{"config", "check", team, "--json"}},
		{"check-unknown-keys", []string{"config", "check", configTestdata + "/unknown-key.bad.toml"}},
		{"check-secrets-json", []string{"config", "check", "--json", configTestdata + "/secret-missing.bad.toml"}},
		{"check-syntax", []string{"config", "check", configTestdata + "/syntax.bad.toml"}},
		{"check-missing-file", []string{"config", "check", configTestdata + "/no-such-file.toml"}},
		{"check-credentials-dir", []string{"config", "check", "--credentials-dir", "/nonexistent", team}},
		{"check-too-many-args", []string{"config", "check", "a.toml", "b.toml"}},
		{"check-unknown-flag", []string{"config", "check", "--verbose", team}},
		{"check-help", []string{"config", "check", "--help"}},
		{"no-command", nil},
		{"unknown-command", []string{"stauts"}},
		{"config-without-subcommand", []string{"config"}},
		{"help", []string{"--help"}},
		{"version-extra-arg", []string{"version", "now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setTestEnv(t)
			code, stdout, stderr := run(t, tt.args...)
			got := fmt.Sprintf("$ %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s",
				strings.Join(append([]string{"qcc"}, tt.args...), " "), code, stdout, stderr)
			if strings.Contains(got, "sk-ant-") {
				t.Errorf("output leaks a secret:\n%s", got)
			}
			golden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

// TestCheckLiteralKeyWarning checks a real world-readable file: the
// warning depends on the file's mode, which a checkout does not fix, so the
// file is made here.
func TestCheckLiteralKeyWarning(t *testing.T) {
	setTestEnv(t)
	path := filepath.Join(t.TempDir(), "clusters.toml")
	src := "[clusters.main]\nlisten = \"127.0.0.1:7860\"\n\n[[clusters.main.endpoints]]\n" +
		"name = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\napi_key = \"sk-ant-api03-literal\"\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o600, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := run(t, "config", "check", path)
		want := path + ": OK (1 cluster, 1 endpoint)\n"
		if mode == 0o644 {
			want = path + ":7: warning: endpoint main/anthropic: api_key is a literal key in a file other users can read " +
				"(mode 0644); use env:, file: or credential:, or chmod o-r the file\n" + want
		}
		if code != 0 || stdout != want || stderr != "" {
			t.Errorf("mode %04o: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0, stdout:\n%s", mode, code, stdout, stderr, want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := run(t, "version")
	if want := buildinfo.String("qcc") + "\n"; code != 0 || stdout != want || stderr != "" {
		t.Errorf("qcc version: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", code, stdout, stderr, want)
	}

	code, stdout, _ = run(t, "version", "--json")
	var got map[string]string
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 {
		t.Fatalf("qcc version --json: exit %d, %v:\n%s", code, err, stdout)
	}
	info := buildinfo.Read()
	want := map[string]string{"program": "qcc", "version": info.Version, "go": info.GoVersion, "platform": info.Platform}
	if info.Revision != "" {
		want["revision"] = info.Revision
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("qcc version --json = %v, want %v", got, want)
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args     []string
		wantJSON bool
		wantArgs []string
	}{
		{args: nil, wantArgs: nil},
		{args: []string{"--json", "a"}, wantJSON: true, wantArgs: []string{"a"}},
		{args: []string{"a", "--json"}, wantJSON: true, wantArgs: []string{"a"}},
		{args: []string{"a", "-json", "b"}, wantJSON: true, wantArgs: []string{"a", "b"}},
		{args: []string{"a", "--", "--json"}, wantArgs: []string{"a", "--json"}},
		{args: []string{"--", "-x"}, wantArgs: []string{"-x"}},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "")
		got, err := parseArgs(fs, tt.args)
		if err != nil || *asJSON != tt.wantJSON || fmt.Sprint(got) != fmt.Sprint(tt.wantArgs) {
			t.Errorf("parseArgs(%q) = %q, json %v, %v; want %q, json %v", tt.args, got, *asJSON, err, tt.wantArgs, tt.wantJSON)
		}
	}
}

// golden compares got with the golden file at path, or rewrites it with
// -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}
