//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeInstall installs into a DESTDIR, as a distribution's build or a
// user with `sudo make install` would, for Linux and (by its OS variable)
// macOS, and checks that each file is there and names the others where
// they were put.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries; skipped with -short")
	}
	for _, tc := range []struct {
		name, os, prefix string
		files            map[string]os.FileMode
		refers           map[string][]string // file → text it must contain
		mustNot          map[string][]string // file → text it must not contain
	}{
		{
			name: "linux /usr", os: "Linux", prefix: "/usr",
			files: map[string]os.FileMode{
				"/usr/bin/qccd":                             0o755,
				"/usr/bin/qcc":                              0o755,
				"/usr/share/man/man8/qccd.8":                0o644,
				"/usr/share/man/man1/qcc.1":                 0o644,
				"/usr/lib/systemd/system/qccd.service":      0o644,
				"/usr/lib/systemd/system/qccd.socket":       0o644,
				"/usr/lib/sysusers.d/qcc.conf":              0o644,
				"/usr/share/qcc/systemd/notify-reload.conf": 0o644,
				"/etc/qcc/clusters.toml":                    0o640,
			},
			refers: map[string][]string{
				"/usr/lib/systemd/system/qccd.service": {"ExecStart=/usr/bin/qccd --config /etc/qcc/clusters.toml"},
			},
		},
		{
			name: "linux /usr/local", os: "Linux", prefix: "/usr/local",
			files: map[string]os.FileMode{
				"/usr/local/bin/qccd":                        0o755,
				"/usr/local/lib/systemd/system/qccd.service": 0o644,
				"/usr/local/lib/sysusers.d/qcc.conf":         0o644,
				"/etc/qcc/clusters.toml":                     0o640,
			},
			refers: map[string][]string{
				"/usr/local/lib/systemd/system/qccd.service": {
					"ExecStartPre=/usr/local/bin/qccd --check-config --config /etc/qcc/clusters.toml",
					"CREDENTIALS_DIRECTORY=/run/qccd/credentials /usr/local/bin/qccd --check-config",
				},
				"/usr/local/share/qcc/systemd/notify-reload.conf": {"/run/qccd/credentials /usr/local/bin/qccd --check-config"},
			},
			mustNot: map[string][]string{
				"/usr/local/lib/systemd/system/qccd.service": {"/usr/bin/qccd"},
			},
		},
		{
			name: "macos", os: "Darwin", prefix: "/usr/local",
			files: map[string]os.FileMode{
				"/usr/local/bin/qccd":                             0o755,
				"/usr/local/share/man/man8/qccd.8":                0o644,
				"/usr/local/share/qcc/launchd/dev.qcc.qccd.plist": 0o644,
				"/usr/local/etc/qcc/clusters.toml":                0o640,
			},
			refers: map[string][]string{
				"/usr/local/share/qcc/launchd/dev.qcc.qccd.plist": {
					"<string>/usr/local/bin/qccd</string>",
					"<string>/usr/local/etc/qcc/clusters.toml</string>",
					"<string>/usr/local/var/log/qccd.log</string>",
				},
				"/usr/local/etc/qcc/clusters.toml": {
					`admin_socket = "/usr/local/var/run/qccd/admin.sock"`,
					`state_dir    = "/usr/local/var/lib/qccd"`,
				},
			},
			mustNot: map[string][]string{
				"/usr/local/etc/qcc/clusters.toml": {`"/run/qccd/admin.sock"`},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			// BIN keeps the build out of the work tree's bin/.
			install := []string{"-C", repoRoot, "install", "BIN=" + t.TempDir(), "DESTDIR=" + dest, "PREFIX=" + tc.prefix, "OS=" + tc.os}
			out, err := exec.Command("make", install...).CombinedOutput()
			if err != nil {
				t.Fatalf("make install: %v\n%s", err, out)
			}
			for path, mode := range tc.files {
				st, err := os.Stat(filepath.Join(dest, path))
				if err != nil {
					t.Errorf("not installed: %v", err)
					continue
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s has mode %04o, want %04o", path, st.Mode().Perm(), mode)
				}
			}
			for path, texts := range tc.refers {
				b, err := os.ReadFile(filepath.Join(dest, path))
				if err != nil {
					t.Error(err)
					continue
				}
				for _, text := range texts {
					if !strings.Contains(string(b), text) {
						t.Errorf("%s does not contain %q", path, text)
					}
				}
			}
			for path, texts := range tc.mustNot {
				b, _ := os.ReadFile(filepath.Join(dest, path))
				for _, text := range texts {
					if strings.Contains(string(b), text) {
						t.Errorf("%s still contains %q", path, text)
					}
				}
			}

			// An existing configuration is the admin's: a second install
			// keeps it.
			conf := filepath.Join(dest, map[string]string{"Linux": "/etc", "Darwin": tc.prefix + "/etc"}[tc.os], "qcc/clusters.toml")
			if err := os.WriteFile(conf, []byte("# mine\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("make", install...).CombinedOutput(); err != nil {
				t.Fatalf("second make install: %v\n%s", err, out)
			}
			if b, _ := os.ReadFile(conf); string(b) != "# mine\n" {
				t.Errorf("a second make install replaced the configuration: %q", b)
			}
		})
	}
}
