package config

import (
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantAuth   AuthMode
		wantKey    string
		wantSource string
		wantWarn   bool
	}{
		{
			name:       "no key: pass the client's credentials through",
			wantAuth:   AuthPassthrough,
			wantSource: "embedded default: passthrough",
		},
		{
			name:       "empty key counts as none",
			env:        map[string]string{"ANTHROPIC_API_KEY": ""},
			wantAuth:   AuthPassthrough,
			wantSource: "embedded default: passthrough",
		},
		{
			name:       "ANTHROPIC_API_KEY set",
			env:        map[string]string{"ANTHROPIC_API_KEY": "sk-ant-api03-default"},
			wantAuth:   AuthAPIKey,
			wantKey:    "sk-ant-api03-default",
			wantSource: "embedded default: env:ANTHROPIC_API_KEY",
		},
		{
			name:       "unusable key: warn and pass through rather than fail to start",
			env:        map[string]string{"ANTHROPIC_API_KEY": "sk-ant-api03-default\n"},
			wantAuth:   AuthPassthrough,
			wantSource: "embedded default: passthrough",
			wantWarn:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default(mapEnv(tt.env))
			if cfg.Source != tt.wantSource || cfg.Path != "" {
				t.Errorf("Source, Path = %q, %q, want %q, \"\"", cfg.Source, cfg.Path, tt.wantSource)
			}
			if len(cfg.Clusters) != 1 || len(cfg.Clusters[0].Endpoints) != 1 {
				t.Fatalf("Clusters = %+v, want one cluster with one endpoint", cfg.Clusters)
			}
			c := cfg.Clusters[0]
			ep := c.Endpoints[0]
			if c.Name != "default" || c.Listen != "127.0.0.1:7860" {
				t.Errorf("cluster %q on %q, want \"default\" on 127.0.0.1:7860", c.Name, c.Listen)
			}
			if ep.Name != "anthropic" || ep.BaseURL.String() != "https://api.anthropic.com" {
				t.Errorf("endpoint %q -> %v, want anthropic -> https://api.anthropic.com", ep.Name, ep.BaseURL)
			}
			if ep.Auth != tt.wantAuth || ep.APIKey.Value() != tt.wantKey {
				t.Errorf("auth %q with key %q, want %q with %q", ep.Auth, ep.APIKey.Value(), tt.wantAuth, tt.wantKey)
			}
			// The defaults come from the same code as a file's.
			if c.Strategy != StrategyWeighted || c.MaxAttempts != 3 || ep.Weight != 100 || cfg.Daemon.LogLevel != "info" {
				t.Errorf("defaults not applied: %+v", c)
			}
			if got := len(cfg.Warnings) > 0; got != tt.wantWarn {
				t.Errorf("Warnings = %v, want some: %v", cfg.Warnings, tt.wantWarn)
			}
			for _, w := range cfg.Warnings {
				if strings.Contains(w.String(), secretMarker) {
					t.Errorf("warning leaks the key: %q", w)
				}
			}
			if cfg.SHA256 == "" {
				t.Error("SHA256 is empty")
			}
		})
	}
}
