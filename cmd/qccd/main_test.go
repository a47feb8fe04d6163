package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCheckConfigBadFiles: qccd --check-config prints file:line for every
// bad testdata file and exits non-zero; good files exit 0.
func TestCheckConfigBadFiles(t *testing.T) {
	bad, err := filepath.Glob("../../internal/config/testdata/*.bad.toml")
	if err != nil || len(bad) == 0 {
		t.Fatalf("no bad testdata files: %v", err)
	}
	// A problem about the whole file (no clusters at all) has no line.
	line := regexp.MustCompile(`\.bad\.toml(:\d+)?: `)
	for _, f := range bad {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"--check-config", "--config", f}, &out, &errOut)
			if code == 0 {
				t.Fatalf("exit 0 for a bad file; output:\n%s", out.String())
			}
			if !line.MatchString(out.String()) {
				t.Errorf("no file:line in:\n%s", out.String())
			}
		})
	}
	// The good files name these secrets; the config tests set them the same way.
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-test")
	t.Setenv("CLIENT_TOKEN", "client-token")
	t.Setenv("CREDENTIALS_DIRECTORY", "../../internal/config/testdata/credentials")
	good, _ := filepath.Glob("../../internal/config/testdata/*.good.toml")
	for _, f := range good {
		var out bytes.Buffer
		if code := run([]string{"--check-config", "--config", f}, &out, &out); code != 0 {
			t.Errorf("%s: exit %d:\n%s", f, code, out.String())
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "qccd ") {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
	if code := run([]string{"--no-such-flag"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code := run([]string{"stray"}, &out, &errOut); code != 2 {
		t.Errorf("stray argument: exit %d, want 2", code)
	}
}
