package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	good, err := Parse("good.toml", []byte(literalKeyFile), Options{FileMode: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	_, badErr := Parse("bad.toml", []byte("[clusters.x]\nlisten = \"0.0.0.0:1\"\napi_key = \"sk-ant-literal\"\n"), Options{FileMode: 0o644})
	if badErr == nil {
		t.Fatal("bad config parsed")
	}
	readErr := &fs.PathError{Op: "open", Path: "/etc/qcc/clusters.toml", Err: fs.ErrNotExist}

	tests := []struct {
		name     string
		cfg      *Config
		err      error
		wantOK   bool
		wantText string
		wantJSON string
	}{
		{
			name:   "good file with a warning",
			cfg:    good,
			wantOK: true,
			wantText: "good.toml:7: warning: endpoint main/anthropic: api_key is a literal key in a file other users can read (mode 0644); use env:, file: or credential:, or chmod o-r the file\n" +
				"good.toml: OK (1 cluster, 1 endpoint)\n",
			wantJSON: `{"path":"good.toml","ok":true,"problems":[],"warnings":[{"file":"good.toml","line":7,"message":"endpoint main/anthropic: api_key is a literal key in a file other users can read (mode 0644); use env:, file: or credential:, or chmod o-r the file"}],"clusters":1,"endpoints":1}`,
		},
		{
			name:     "embedded default",
			cfg:      Default(mapEnv(nil)),
			wantOK:   true,
			wantText: "embedded default: passthrough: OK (1 cluster, 1 endpoint)\n",
			wantJSON: `{"path":"embedded default: passthrough","ok":true,"problems":[],"warnings":[],"clusters":1,"endpoints":1}`,
		},
		{
			name: "problems",
			err:  badErr,
			wantText: "bad.toml:1: cluster x: no endpoints: add at least one [[clusters.x.endpoints]]\n" +
				"bad.toml:2: cluster x: listen \"0.0.0.0:1\" is reachable from other hosts; set client_tokens or listen on a loopback address\n" +
				"bad.toml:3: cluster x: unknown key \"api_key\"\n" +
				"bad.toml: 3 problems\n",
			wantJSON: `{"path":"bad.toml","ok":false,"problems":[` +
				`{"file":"bad.toml","line":1,"message":"cluster x: no endpoints: add at least one [[clusters.x.endpoints]]"},` +
				`{"file":"bad.toml","line":2,"message":"cluster x: listen \"0.0.0.0:1\" is reachable from other hosts; set client_tokens or listen on a loopback address"},` +
				`{"file":"bad.toml","line":3,"message":"cluster x: unknown key \"api_key\""}],"warnings":[],"clusters":0,"endpoints":0}`,
		},
		{
			name:     "unreadable file",
			err:      readErr,
			wantText: "open /etc/qcc/clusters.toml: file does not exist\n",
			wantJSON: `{"path":"","ok":false,"error":"open /etc/qcc/clusters.toml: file does not exist","problems":[],"warnings":[],"clusters":0,"endpoints":0}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if ok := WriteReport(&b, tt.cfg, tt.err); ok != tt.wantOK {
				t.Errorf("WriteReport() = %v, want %v", ok, tt.wantOK)
			}
			if b.String() != tt.wantText {
				t.Errorf("text report:\n%s\nwant:\n%s", b.String(), tt.wantText)
			}
			j, err := json.Marshal(NewReport(tt.cfg, tt.err))
			if err != nil {
				t.Fatal(err)
			}
			if string(j) != tt.wantJSON {
				t.Errorf("JSON report:\n%s\nwant:\n%s", j, tt.wantJSON)
			}
		})
	}
}

func TestErrorAs(t *testing.T) {
	_, err := Parse("x.toml", []byte("nonsense ="), Options{})
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 1 || cerr.Problems[0].Line != 1 {
		t.Fatalf("syntax error = %#v, want an *Error with one problem on line 1", err)
	}
	if !strings.HasPrefix(err.Error(), "x.toml:1: TOML syntax: ") {
		t.Errorf("Error() = %q", err)
	}
}
