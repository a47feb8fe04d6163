package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/qcc-dev/qcc/internal/admin/admintest"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

const (
	daemonKeyA = "sk-ant-api03-cli-test-key-A"
	daemonKeyB = "sk-ant-api03-cli-test-key-B"
)

// TestAgainstRealDaemon drives qcc against a running qccd: the exit codes
// follow what qccd reports, and no key ever shows.
func TestAgainstRealDaemon(t *testing.T) {
	_, urlA := admintest.Upstream(t, fakeupstream.Options{APIKey: daemonKeyA})
	_, urlB := admintest.Upstream(t, fakeupstream.Options{APIKey: daemonKeyB})
	d := admintest.Start(t, fmt.Sprintf(`[daemon]
admin_socket = %q
state_dir = %q

[clusters.prod]
listen = "127.0.0.1:0"

[[clusters.prod.endpoints]]
name = "a"
base_url = %q
api_key = %q

[[clusters.prod.endpoints]]
name = "b"
base_url = %q
api_key = %q
`, admintest.SocketPath(t), t.TempDir(), urlA, daemonKeyA, urlB, daemonKeyB))
	if code, body := d.Send(t, "prod", true); code != 200 {
		t.Fatalf("request: %d %s", code, body)
	}
	t.Setenv("QCC_ADMIN", d.Socket)
	t.Setenv("QCC_ADMIN_TOKEN", "")

	steps := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"status"}, 0, "prod     127.0.0.1:"},
		{[]string{"endpoints"}, 0, "prod     b"},
		{[]string{"health"}, 0, "is live and ready"},
		{[]string{"disable", "prod/b"}, 0, "prod/b is out of rotation"},
		{[]string{"endpoints", "prod"}, 0, "disabled"},
		{[]string{"status"}, 0, "disabled by operator"},
		{[]string{"enable", "prod/b"}, 0, "prod/b is back in rotation"},
		{[]string{"drain", "prod/a"}, 0, "prod/a is out of rotation and idle"},
		{[]string{"disable", "prod/b"}, 0, "prod/b is out of rotation"},
		// Nothing left to send to: a problem, so exit 1.
		{[]string{"status"}, 1, "cluster prod has no endpoint taking traffic"},
		{[]string{"enable", "prod/a"}, 0, "back in rotation"},
		{[]string{"enable", "prod/b"}, 0, "back in rotation"},
		{[]string{"reload"}, 0, "config reloaded from " + d.ConfigPath},
		{[]string{"status", "--json"}, 0, `"key_fingerprint"`},
		{[]string{"enable", "prod/nope"}, 2, `no endpoint "nope" in cluster "prod"`},
		{[]string{"status", "--admin", d.Socket + ".nope"}, 2, "is qccd running? tried " + d.Socket + ".nope"},
	}
	for _, s := range steps {
		code, stdout, stderr := run(t, s.args...)
		out := stdout + stderr
		if code != s.code || !strings.Contains(out, s.contains) {
			t.Errorf("qcc %s: exit %d\n%s\nwant exit %d with %q", strings.Join(s.args, " "), code, out, s.code, s.contains)
		}
		if strings.Contains(out, "sk-ant-") {
			t.Errorf("qcc %s shows a key:\n%s", strings.Join(s.args, " "), out)
		}
	}
}

// frames counts --watch's redraws and ends the watch after the third.
type frames struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (f *frames) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n == 3 {
		f.cancel()
	}
	return f.buf.Write(p)
}

// TestStatusWatch: --watch redraws until interrupted, exits 0 then, and
// keeps going when qccd cannot be reached.
func TestStatusWatch(t *testing.T) {
	for _, fixture := range []string{"healthy", ""} {
		t.Run(fixture, func(t *testing.T) {
			admin := shortSocket(t)
			if fixture != "" {
				admin = loadFixture(t, fixture).serve(t)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &frames{cancel: cancel}
			var errOut bytes.Buffer
			code := Run(ctx, []string{"status", "--watch", "--interval", "1ms", "--admin", admin}, out, &errOut)
			if code != 0 || out.n != 3 || errOut.Len() != 0 {
				t.Fatalf("exit %d after %d frames, stderr %q", code, out.n, errOut.String())
			}
			want := "relay-eu"
			if fixture == "" {
				want = "is qccd running? tried " + admin
			}
			if got := strings.Count(out.buf.String(), want); got != 3 {
				t.Errorf("%q in %d of 3 frames:\n%s", want, got, out.buf.String())
			}
			if strings.Contains(out.buf.String(), "\x1b") {
				t.Error("escape codes on a writer that is not a terminal")
			}
		})
	}
}
