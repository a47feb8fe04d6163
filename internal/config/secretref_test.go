package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plain := write("plain.key", "sk-ant-plain")
	write("newline.key", "sk-ant-newline\n")
	write("crlf.key", "sk-ant-crlf\r\n")
	write("two-newlines.key", "sk-ant-two-newlines\n\n")
	write("two-lines.key", "sk-ant-first\nsk-ant-second\n")
	write("empty.key", "")
	write("only-newline.key", "\n")
	write("huge.key", "sk-ant-"+strings.Repeat("x", maxSecretFileSize))
	write("creds/anthropic", "sk-ant-credential\n")

	r := resolver{
		lookupEnv: mapEnv(map[string]string{
			"KEY":       "sk-ant-env",
			"EMPTY":     "",
			"MULTILINE": "sk-ant-env\nX-Injected: yes",
		}),
		credentialsDir: creds,
		baseDir:        dir,
	}
	noCreds := r
	noCreds.credentialsDir = ""

	tests := []struct {
		name    string
		r       resolver
		ref     string
		want    string // the value, when it resolves
		wantRef string
		wantErr string // a substring of the error, when it does not
	}{
		{name: "literal", ref: "sk-ant-literal", want: "sk-ant-literal", wantRef: "literal"},
		{name: "literal empty", ref: "", wantErr: "is empty"},
		{name: "literal with a line break", ref: "sk-ant-a\nsk-ant-b", wantErr: "the value holds a line break"},
		{name: "env", ref: "env:KEY", want: "sk-ant-env", wantRef: "env:KEY"},
		{name: "env unset", ref: "env:NOPE", wantErr: "env:NOPE is not set"},
		{name: "env empty", ref: "env:EMPTY", wantErr: "env:EMPTY is empty"},
		{name: "env without a name", ref: "env:", wantErr: "env: needs a variable name"},
		{name: "env with a line break", ref: "env:MULTILINE", wantErr: "env:MULTILINE holds a line break"},
		{name: "file absolute", ref: "file:" + plain, want: "sk-ant-plain", wantRef: "file:" + plain},
		{name: "file relative to the config", ref: "file:newline.key", want: "sk-ant-newline"},
		{name: "file with CRLF", ref: "file:crlf.key", want: "sk-ant-crlf"},
		{name: "file trims only one newline", ref: "file:two-newlines.key", wantErr: "holds a line break"},
		{name: "file with two lines", ref: "file:two-lines.key", wantErr: "file:two-lines.key holds a line break"},
		{name: "file missing", ref: "file:nope.key", wantErr: "file:nope.key does not exist"},
		{name: "file empty", ref: "file:empty.key", wantErr: "file:empty.key is empty"},
		{name: "file of only a newline", ref: "file:only-newline.key", wantErr: "file:only-newline.key is empty"},
		{name: "file is a directory", ref: "file:creds", wantErr: "file:creds cannot be read"},
		{name: "file too large", ref: "file:huge.key", wantErr: "file:huge.key is larger than 64 KiB"},
		{name: "file without a path", ref: "file:", wantErr: "file: needs a path"},
		{name: "credential", ref: "credential:anthropic", want: "sk-ant-credential", wantRef: "credential:anthropic"},
		{name: "credential missing", ref: "credential:nope", wantErr: "credential:nope does not exist"},
		{name: "credential without CREDENTIALS_DIRECTORY", r: noCreds, ref: "credential:anthropic",
			wantErr: "credential:anthropic needs $CREDENTIALS_DIRECTORY"},
		{name: "credential escaping its directory", ref: "credential:../plain.key", wantErr: "a credential name is a plain file name"},
		{name: "credential without a name", ref: "credential:", wantErr: "a credential name is a plain file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.r
			if res.lookupEnv == nil {
				res = r
			}
			got, err := res.resolve(tt.ref)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("resolve(%q) = %v, want an error containing %q", tt.ref, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("resolve(%q) error = %q, want it to contain %q", tt.ref, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secretMarker) {
					t.Errorf("resolve(%q) error leaks a secret: %q", tt.ref, err)
				}
				if !got.IsZero() {
					t.Errorf("resolve(%q) returned a value along with an error", tt.ref)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve(%q) error = %v", tt.ref, err)
			}
			if got.Value() != tt.want {
				t.Errorf("resolve(%q) value = %q, want %q", tt.ref, got.Value(), tt.want)
			}
			wantRef := tt.wantRef
			if wantRef == "" {
				wantRef = tt.ref
			}
			if got.Ref() != wantRef {
				t.Errorf("resolve(%q) ref = %q, want %q", tt.ref, got.Ref(), wantRef)
			}
		})
	}
}

// TestSecretsNeverInProblems parses a file whose every secret fails in a
// different way, in an environment full of secret values, and checks that
// no value reaches the error.
func TestSecretsNeverInProblems(t *testing.T) {
	src := `
[daemon]
admin_listen = "0.0.0.0:7870"
admin_token  = "env:EMPTY"

[clusters.main]
listen        = "0.0.0.0:7860"
client_tokens = ["sk-ant-literal-token", "env:MULTILINE", "file:/nonexistent/missing"]

[[clusters.main.endpoints]]
name     = "a"
base_url = "https://sk-ant-user:sk-ant-pass@relay.example.com"
api_key  = "sk-ant-literal-key"
auth     = "nonsense"
`
	opts := Options{
		LookupEnv: mapEnv(map[string]string{"EMPTY": "", "MULTILINE": "sk-ant-x\nsk-ant-y"}),
		FileMode:  0o644,
	}
	_, err := Parse("clusters.toml", []byte(src), opts)
	if err == nil {
		t.Fatal("Parse() succeeded, want problems")
	}
	var b strings.Builder
	WriteReport(&b, nil, err)
	if strings.Contains(b.String(), secretMarker) {
		t.Errorf("report leaks a secret:\n%s", b.String())
	}
	for _, want := range []string{"env:EMPTY is empty", "env:MULTILINE holds a line break", "REDACTED@relay.example.com", "warning:"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
