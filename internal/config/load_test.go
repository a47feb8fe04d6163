package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const literalKeyFile = `[clusters.main]
listen = "127.0.0.1:7860"

[[clusters.main.endpoints]]
name     = "anthropic"
base_url = "https://api.anthropic.com"
api_key  = "sk-ant-api03-literal"
`

const envKeyFile = `[clusters.main]
listen = "127.0.0.1:7860"

[[clusters.main.endpoints]]
name     = "anthropic"
base_url = "https://api.anthropic.com"
api_key  = "env:ANTHROPIC_API_KEY"
`

// TestPermissionWarning loads real files, so the mode comes from the file
// system the way it does for the daemon.
func TestPermissionWarning(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		mode     fs.FileMode
		wantWarn bool
	}{
		{name: "literal key, world-readable", content: literalKeyFile, mode: 0o644, wantWarn: true},
		{name: "literal key, readable by all but group-less", content: literalKeyFile, mode: 0o604, wantWarn: true},
		{name: "literal key, owner and group only", content: literalKeyFile, mode: 0o640},
		{name: "literal key, owner only", content: literalKeyFile, mode: 0o600},
		{name: "reference, world-readable", content: envKeyFile, mode: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clusters.toml")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadWith(path, Options{LookupEnv: mapEnv(testEnv)})
			if err != nil {
				t.Fatalf("LoadWith() error = %v", err)
			}
			if got := len(cfg.Warnings) > 0; got != tt.wantWarn {
				t.Fatalf("warnings = %v, want a warning: %v", cfg.Warnings, tt.wantWarn)
			}
			if !tt.wantWarn {
				return
			}
			w := cfg.Warnings[0]
			if w.File != path || w.Line != 7 {
				t.Errorf("warning at %s:%d, want %s:7", w.File, w.Line, path)
			}
			if !strings.Contains(w.Message, "other users can read") || strings.Contains(w.Message, secretMarker) {
				t.Errorf("warning = %q", w.Message)
			}
		})
	}
}

func TestParseUnknownModeNeverWarns(t *testing.T) {
	cfg, err := Parse("clusters.toml", []byte(literalKeyFile), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("Warnings = %v, want none when the mode is unknown", cfg.Warnings)
	}
}

func TestLoadFillsIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clusters.toml")
	if err := os.WriteFile(path, []byte(envKeyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWith(path, Options{LookupEnv: mapEnv(testEnv)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(envKeyFile))
	if want := hex.EncodeToString(sum[:]); cfg.SHA256 != want {
		t.Errorf("SHA256 = %s, want %s", cfg.SHA256, want)
	}
	if cfg.Path != path || cfg.Source != path {
		t.Errorf("Path, Source = %q, %q, want %q for both", cfg.Path, cfg.Source, path)
	}
}

// TestLoadResolvesRelativeFilesNextToTheConfig pins that file:NAME does not
// depend on the working directory, which is / under systemd.
func TestLoadResolvesRelativeFilesNextToTheConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "anthropic.key"), []byte("sk-ant-next-to-config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "clusters.toml")
	src := strings.Replace(envKeyFile, "env:ANTHROPIC_API_KEY", "file:anthropic.key", 1)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Clusters[0].Endpoints[0].APIKey.Value(); got != "sk-ant-next-to-config" {
		t.Errorf("api_key = %q, want the file next to the config", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist so the daemon can fall back to Default", err)
	}
	_, err = Load(dir)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != dir {
		t.Errorf("Load(directory) error = %v, want a *fs.PathError for it", err)
	}

	path := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(path, []byte("[clusters.main]\nlisten = 1\nx = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Load(bad) error = %v, want an *Error", err)
	}
	if len(cerr.Problems) < 3 {
		t.Errorf("Problems = %v, want every problem, not the first", cerr.Problems)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(cerr.Problems) || !strings.HasPrefix(lines[0], path+":") {
		t.Errorf("Error() = %q, want one file:line: message per problem", err)
	}
}

func TestCredentialsDirectoryFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "anthropic"), []byte("sk-ant-from-systemd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(envKeyFile, "env:ANTHROPIC_API_KEY", "credential:anthropic", 1)

	env := mapEnv(map[string]string{"CREDENTIALS_DIRECTORY": dir})
	cfg, err := Parse("clusters.toml", []byte(src), Options{LookupEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Clusters[0].Endpoints[0].APIKey.Value(); got != "sk-ant-from-systemd" {
		t.Errorf("api_key = %q, want the credential", got)
	}

	_, err = Parse("clusters.toml", []byte(src), Options{LookupEnv: mapEnv(nil)})
	if err == nil || !strings.Contains(err.Error(), "needs $CREDENTIALS_DIRECTORY") {
		t.Errorf("Parse() without $CREDENTIALS_DIRECTORY error = %v", err)
	}
}
