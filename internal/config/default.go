package config

import (
	"fmt"
	"os"
)

// defaultName is how problems and logs name the embedded default config.
const defaultName = "embedded default"

// defaultKeyEnv is the variable the Anthropic SDKs and Claude Code read a key from.
const defaultKeyEnv = "ANTHROPIC_API_KEY"

// defaultTOML is the config qccd runs with when no file exists: one cluster
// on the port Claude Code users point ANTHROPIC_BASE_URL at, in front of the
// Anthropic API. Its auth settings are appended by Default.
const defaultTOML = `[clusters.default]
listen = "127.0.0.1:7860"

[[clusters.default.endpoints]]
name     = "anthropic"
base_url = "https://api.anthropic.com"
`

// Default returns the config used when no config file exists. With
// ANTHROPIC_API_KEY set (and not empty) it sends that key; otherwise it
// passes the client's own credentials through unchanged, which is what
// Claude Code subscription logins (OAuth bearer tokens) need. A nil
// lookupEnv means os.LookupEnv.
//
// It goes through Parse like a file does, so it gets the same defaults.
func Default(lookupEnv func(string) (string, bool)) *Config {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	src, source := defaultTOML+"auth     = \"passthrough\"\n", defaultName+": passthrough"
	var warnings []Problem
	if v, ok := lookupEnv(defaultKeyEnv); ok && v != "" {
		// Check the key here rather than let Parse fail on it: a daemon
		// without a config file must still start.
		if _, err := (resolver{lookupEnv: lookupEnv}).resolve(refEnv + defaultKeyEnv); err != nil {
			warnings = append(warnings, Problem{File: defaultName, Message: fmt.Sprintf(
				"ignoring %s: %v; passing the client's own credentials through instead", defaultKeyEnv, err)})
		} else {
			src = defaultTOML + "auth     = \"x-api-key\"\napi_key  = \"" + refEnv + defaultKeyEnv + "\"\n"
			source = defaultName + ": " + refEnv + defaultKeyEnv
		}
	}
	cfg, err := Parse(defaultName, []byte(src), Options{LookupEnv: lookupEnv})
	if err != nil {
		// The text is a constant: this is a bug in this package, caught by its tests.
		panic(fmt.Sprintf("config: embedded default is invalid: %v", err))
	}
	cfg.Path = ""
	cfg.Source = source
	cfg.Warnings = append(warnings, cfg.Warnings...)
	return cfg
}
