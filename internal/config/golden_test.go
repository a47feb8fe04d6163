package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// secretMarker is in every secret value the tests use, so that one search
// finds any that leaks into output.
const secretMarker = "sk-ant-"

// testEnv is the environment the testdata files are parsed in.
var testEnv = map[string]string{
	"ANTHROPIC_API_KEY": "sk-ant-api03-from-env",
	"CLIENT_TOKEN":      "sk-ant-client-from-env",
	"EMPTY_VAR":         "",
}

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// testOptions parses as if the file were world-readable, so that the
// goldens show the literal-key warnings.
func testOptions() Options {
	return Options{LookupEnv: mapEnv(testEnv), CredentialsDir: "testdata/credentials", FileMode: 0o644}
}

// TestGolden parses every testdata/*.toml file: a good file's golden is a
// dump of its Config, a bad file's golden is its check report.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(file, data, testOptions())
			var got string
			switch {
			case strings.HasSuffix(name, ".good"):
				if err != nil {
					t.Fatalf("Parse() error:\n%v", err)
				}
				got = dump(cfg)
			case strings.HasSuffix(name, ".bad"):
				var cerr *Error
				if !errors.As(err, &cerr) {
					t.Fatalf("Parse() error = %v, want an *Error", err)
				}
				if cfg != nil {
					t.Errorf("Parse() returned a Config along with problems")
				}
				for _, p := range cerr.Problems {
					if p.File != file || (p.Line == 0 && name != "no-clusters.bad") {
						t.Errorf("problem without a position: %q", p)
					}
				}
				var b strings.Builder
				WriteReport(&b, cfg, err)
				got = b.String()
			default:
				t.Fatalf("testdata file %s is neither .good.toml nor .bad.toml", file)
			}
			if strings.Contains(got, secretMarker) {
				t.Errorf("output leaks a secret:\n%s", got)
			}
			golden(t, strings.TrimSuffix(file, ".toml")+".golden", got)
		})
	}
}

// golden compares got with the golden file at path, or rewrites it with
// -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// dump renders a Config canonically, one field a line. It walks the struct
// by reflection so that fields added later show up without touching it.
func dump(cfg *Config) string {
	var b strings.Builder
	v := reflect.ValueOf(*cfg)
	for i := range v.NumField() {
		dumpValue(&b, "", v.Type().Field(i).Name, v.Field(i))
	}
	return b.String()
}

func dumpValue(b *strings.Builder, indent, name string, v reflect.Value) {
	switch x := v.Interface().(type) {
	case Secret:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, strings.TrimSpace(x.Ref()+" "+x.String()))
		return
	case *url.URL:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, x)
		return
	case time.Duration:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, x)
		return
	case Problem:
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, x)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		fmt.Fprintf(b, "%s%s:\n", indent, name)
		for i := range v.NumField() {
			dumpValue(b, indent+"  ", v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			fmt.Fprintf(b, "%s%s: []\n", indent, name)
		}
		for i := range v.Len() {
			dumpValue(b, indent, fmt.Sprintf("%s[%d]", name, i), v.Index(i))
		}
	case reflect.String:
		fmt.Fprintf(b, "%s%s: %q\n", indent, name, v.String())
	default:
		fmt.Fprintf(b, "%s%s: %v\n", indent, name, v.Interface())
	}
}
