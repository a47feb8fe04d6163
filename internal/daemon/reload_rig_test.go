package daemon_test

import (
	"github.com/qcc-dev/qcc/internal/testutil"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/daemon"
	"github.com/qcc-dev/qcc/internal/sdnotify"
)

// reloadRig is one qccd run on a config file the test rewrites, with the
// daemon itself at hand, so that tests assert on the running snapshot.
type reloadRig struct {
	d      *daemon.Daemon
	path   string
	addrs  map[string]string // as bound at start
	logs   *testutil.LogBuffer
	reload chan os.Signal
}

// startRig runs qccd on the config file at path, which must exist.
func startRig(t *testing.T, path string) *reloadRig {
	t.Helper()
	r := &reloadRig{path: path, logs: &testutil.LogBuffer{}, reload: make(chan os.Signal, 1)}
	started := make(chan *daemon.Daemon, 1)
	ready := make(chan map[string]string, 1)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- daemon.Run(ctx, daemon.Options{
			ConfigPath: path,
			Explicit:   true,
			Log:        zerolog.New(r.logs),
			Notifier:   sdnotify.New(),
			Reload:     r.reload,
			StateDir:   t.TempDir(),
			Ready:      func(a map[string]string) { ready <- a },
			Started:    func(d *daemon.Daemon) { started <- d },
		})
	}()
	select {
	case r.addrs = <-ready:
		r.d = <-started
	case err := <-done:
		cancel()
		t.Fatalf("qccd did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("qccd did not become ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("qccd: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("qccd did not stop")
		}
		if t.Failed() {
			t.Logf("qccd log:\n%s", r.logs)
		}
	})
	return r
}

// waitApplied waits until the running snapshot was built from content and
// returns how long that took.
func (r *reloadRig) waitApplied(t *testing.T, content string) time.Duration {
	t.Helper()
	want := digest(content)
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for r.d.Snapshot().Config.SHA256 != want {
		if time.Now().After(deadline) {
			t.Fatalf("content never applied; running %s, last reload %+v", r.d.Snapshot().Config.Source, r.d.LastReload())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// count returns how many log lines carry a message that starts with msg.
func (r *reloadRig) count(msg string) int {
	return strings.Count(r.logs.String(), `"message":"`+msg)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// freeAddr returns a loopback address nothing listens on, for a listener a
// reload adds or moves.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// endpointSpec is one endpoint of a test config.
type endpointSpec struct {
	name, url string
	weight    int
}

// clusterSpec is one cluster of a test config.
type clusterSpec struct {
	name, listen string
	affinity     bool
	endpoints    []endpointSpec
}

// reloadConfig renders clusters as clusters.toml, with extra lines for
// [daemon]. The admin API is off: parallel daemons must not fight over its
// socket.
func reloadConfig(daemonExtra string, clusters ...clusterSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[daemon]\nadmin_socket = \"\"\ndrain_timeout = \"20s\"\n%s\n", daemonExtra)
	for _, c := range clusters {
		fmt.Fprintf(&b, "[clusters.%s]\nlisten = %q\n", c.name, c.listen)
		if c.affinity {
			b.WriteString("affinity = \"session\"\n")
		}
		for _, e := range c.endpoints {
			fmt.Fprintf(&b, "\n[[clusters.%s.endpoints]]\nname = %q\nbase_url = %q\nauth = \"passthrough\"\nweight = %d\n",
				c.name, e.name, e.url, e.weight)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// messageStop is how every complete stream ends.
const messageStop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

// streamOnce sends one streaming request and reads the reply to its end.
// It returns an error for anything a client would count as a failure.
func streamOnce(ctx context.Context, client *http.Client, url string, header http.Header) error {
	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("content-type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("status %d, body cut: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if !strings.HasSuffix(string(b), messageStop) {
		return fmt.Errorf("stream did not end with message_stop: ...%q", b[max(0, len(b)-120):])
	}
	return nil
}

// latencies collects write-to-applied times across subtests.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d)
}

// summary returns the count, median and maximum.
func (l *latencies) summary() (n int, median, maximum time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return len(s), s[len(s)/2], s[len(s)-1]
}
