package config

import "testing"

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:7860", true},
		{"127.1.2.3:7860", true},
		{"[::1]:7860", true},
		{"localhost:7860", true},
		{"LOCALHOST:7860", true},
		{"[::ffff:127.0.0.1]:7860", true},
		{"[fe80::1%lo0]:7860", false},
		{"127.0.0.1", true},
		{"::1", true},
		{"0.0.0.0:7860", false},
		{"[::]:7860", false},
		{":7860", false},
		{"10.0.0.5:7860", false},
		{"192.168.1.10:7860", false},
		{"example.com:7860", false},
		{"localhost.example.com:7860", false},
		{"128.0.0.1:7860", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.addr); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestListenerCollides(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:7860", "127.0.0.1:7860", true},
		{"127.0.0.1:7860", "127.0.0.1:7861", false},
		{"127.0.0.1:7860", "127.0.0.2:7860", false},
		{"0.0.0.0:7860", "127.0.0.1:7860", true},
		{":7860", "[::1]:7860", true},
		{"[::]:7860", "10.0.0.1:7860", true},
		{"[::ffff:127.0.0.1]:7860", "127.0.0.1:7860", true},
		{"LocalHost:7860", "localhost:7860", true},
		{"127.0.0.1:07860", "127.0.0.1:7860", true},
		{"127.0.0.1:0", "127.0.0.1:0", false},
	}
	for _, tt := range tests {
		if got := parseListener(tt.a).collides(parseListener(tt.b)); got != tt.want {
			t.Errorf("%q collides with %q = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
