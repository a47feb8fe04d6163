package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/config"
)

// fuzzSecret is what env:FUZZ_KEY resolves to. Unless the input spells it
// out itself, no error, warning or printed config may contain it.
const fuzzSecret = "sk-ant-fuzz-SECRET-7d1e0c"

// FuzzParse feeds clusters.toml variants to the parser and validator. Any
// input may be rejected, but none may panic, and what each outcome
// promises must hold: an error lists at least one problem and no secret; a
// config that passes validation has the shape the daemon relies on.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[clusters.a]\nlisten = \"127.0.0.1:7860\"\n[[clusters.a.endpoints]]\nname = \"e\"\nbase_url = \"https://api.anthropic.com\"\napi_key = \"env:FUZZ_KEY\"\n"))
	lookup := func(name string) (string, bool) {
		if name == "FUZZ_KEY" {
			return fuzzSecret, true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("testdata/fuzz.toml", data, config.Options{
			LookupEnv:      lookup,
			CredentialsDir: "testdata/credentials",
			FileMode:       0o600,
		})
		mayShow := bytes.Contains(data, []byte(fuzzSecret))
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a config and an error: %v", err)
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error of type %T, want *config.Error: %v", err, err)
			}
			if len(cerr.Problems) == 0 {
				t.Fatalf("an *Error with no problem")
			}
			for _, p := range cerr.Problems {
				if p.Message == "" {
					t.Fatalf("a problem with no message: %+v", p)
				}
			}
			if !mayShow && strings.Contains(err.Error(), fuzzSecret) {
				t.Fatalf("the error shows a secret: %v", err)
			}
			return
		}
		checkValid(t, cfg)
		if !mayShow {
			for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
				if strings.Contains(s, fuzzSecret) {
					t.Fatalf("the printed config shows a secret")
				}
			}
			for _, w := range cfg.Warnings {
				if strings.Contains(w.String(), fuzzSecret) {
					t.Fatalf("a warning shows a secret: %s", w)
				}
			}
		}
	})
}

// checkValid asserts what the daemon assumes of a config that passed
// validation.
func checkValid(t *testing.T, cfg *config.Config) {
	t.Helper()
	if len(cfg.Clusters) == 0 {
		t.Fatal("a valid config with no cluster")
	}
	clusters := map[string]bool{}
	listens := map[string]bool{}
	for _, c := range cfg.Clusters {
		if c.Name == "" || clusters[c.Name] {
			t.Fatalf("cluster name %q empty or repeated", c.Name)
		}
		clusters[c.Name] = true
		if c.Listen == "" || listens[c.Listen] {
			t.Fatalf("cluster %s: listen %q empty or shared", c.Name, c.Listen)
		}
		listens[c.Listen] = true
		if len(c.Endpoints) == 0 {
			t.Fatalf("cluster %s has no endpoint", c.Name)
		}
		if c.MaxAttempts < 1 || c.FailureThreshold < 1 || c.MaxBodyBytes <= 0 {
			t.Fatalf("cluster %s: max_attempts %d, failure_threshold %d, max_body_bytes %d", c.Name, c.MaxAttempts, c.FailureThreshold, c.MaxBodyBytes)
		}
		if c.CooldownMin < 0 || c.CooldownMin > c.CooldownMax || c.RetryWindow < 0 {
			t.Fatalf("cluster %s: cooldown %s..%s, retry_window %s", c.Name, c.CooldownMin, c.CooldownMax, c.RetryWindow)
		}
		names := map[string]bool{}
		for _, e := range c.Endpoints {
			if e.Name == "" || names[e.Name] {
				t.Fatalf("cluster %s: endpoint name %q empty or repeated", c.Name, e.Name)
			}
			names[e.Name] = true
			if e.BaseURL == nil || (e.BaseURL.Scheme != "http" && e.BaseURL.Scheme != "https") || e.BaseURL.Host == "" {
				t.Fatalf("endpoint %s/%s: base_url %v", c.Name, e.Name, e.BaseURL)
			}
			if e.APIKey.IsZero() && e.Auth != config.AuthPassthrough {
				t.Fatalf("endpoint %s/%s: no key with auth %s", c.Name, e.Name, e.Auth)
			}
			if e.Priority < 1 || e.Weight < 0 {
				t.Fatalf("endpoint %s/%s: priority %d, weight %d", c.Name, e.Name, e.Priority, e.Weight)
			}
		}
	}
}
