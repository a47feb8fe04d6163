package daemon_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/watch/watchtest"
)

// weighted is a one-cluster config whose version shows as endpoint a's
// weight.
func weighted(upURL string, weight int) string {
	return reloadConfig("", clusterSpec{name: "prod", listen: "127.0.0.1:0",
		endpoints: []endpointSpec{{name: "a", url: upURL, weight: weight}}})
}

// TestWatchAppliesEditsOfEveryTool: however a real tool writes the file,
// the running snapshot ends up built from the new content, without a
// rejected reload on the way, and qccd keeps serving. It logs the time from
// write to applied over all writes.
func TestWatchAppliesEditsOfEveryTool(t *testing.T) {
	_, upURL := upstream(t, fakeupstream.Options{Events: 2})
	var lat latencies
	t.Run("tools", func(t *testing.T) {
		for _, tool := range watchtest.Tools() {
			t.Run(tool.Name, func(t *testing.T) {
				t.Parallel()
				dir := filepath.Join(t.TempDir(), "qcc")
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				path := tool.Setup(t, dir, []byte(weighted(upURL, 1)))
				r := startRig(t, path)

				for n := 2; n <= 3; n++ {
					content := weighted(upURL, n)
					tool.Write(t, path, []byte(content))
					took := r.waitApplied(t, content)
					lat.add(took)
					t.Logf("write %d applied after %v", n, took)
					if w := r.d.Snapshot().Cluster("prod").Endpoint("a").Config.Weight; w != n {
						t.Errorf("weight %d after write %d", w, n)
					}
					if got := r.d.LastReload(); !got.OK || got.Trigger != "file change" {
						t.Errorf("last reload %+v, want a successful file change", got)
					}
				}
				if n := r.count("reload rejected"); n > 0 {
					t.Errorf("%d rejected reloads on the way", n)
				}
				if err := streamOnce(t.Context(), http.DefaultClient, "http://"+r.addrs["prod"], nil); err != nil {
					t.Errorf("after the edits: %v", err)
				}
			})
		}
	})
	n, median, maximum := lat.summary()
	t.Logf("write to applied over %d writes: median %v, max %v", n, median, maximum)
}

// TestWatchStormCoalesces: 50 writes within a second cost a few reloads,
// and the last content is the one that runs.
func TestWatchStormCoalesces(t *testing.T) {
	sd := newNotifySocket(t)
	_, upURL := upstream(t, fakeupstream.Options{})
	path := filepath.Join(t.TempDir(), "clusters.toml")
	writeConfig(t, path, weighted(upURL, 1))
	r := startRig(t, path)
	sd.expect(t, "READY=1")

	start := time.Now()
	for n := 2; n <= 51; n++ {
		watchtest.RenameOver(t, path, []byte(weighted(upURL, n)))
		time.Sleep(time.Until(start.Add(time.Duration(n-1) * 20 * time.Millisecond)))
	}
	wrote := time.Since(start)
	took := r.waitApplied(t, weighted(upURL, 51))
	time.Sleep(3 * 200 * time.Millisecond) // room for stragglers to show

	reloads := 0
	for {
		select {
		case m := <-sd.msgs:
			if strings.Contains(m, "RELOADING=1") {
				reloads++
			}
			continue
		default:
		}
		break
	}
	t.Logf("50 writes in %v: %d reloads; last write applied after %v", wrote.Round(time.Millisecond), reloads, took)
	// The debounce holds a burst back for at most 10 periods (2s), so a
	// machine too busy to write 50 files in a second sees one more reload
	// per 2s the storm lasts.
	if most := 3 + int(wrote/(2*time.Second)); reloads < 1 || reloads > most {
		t.Errorf("%d reloads for a storm of 50 writes in %v, want 1 to %d", reloads, wrote, most)
	}
	if w := r.d.Snapshot().Cluster("prod").Endpoint("a").Config.Weight; w != 51 {
		t.Errorf("running weight %d, want the last write's 51", w)
	}
}

// TestWatchBrokenThenFixed: a broken file is rejected once, with file:line
// in the log and in systemd's STATUS, while the old config serves on;
// touching the same broken bytes again is not news; the fixed file is
// applied.
func TestWatchBrokenThenFixed(t *testing.T) {
	sd := newNotifySocket(t)
	_, upURL := upstream(t, fakeupstream.Options{Events: 2})
	path := filepath.Join(t.TempDir(), "clusters.toml")
	good := weighted(upURL, 1)
	writeConfig(t, path, good)
	r := startRig(t, path)
	sd.expect(t, "READY=1")

	broken := strings.Replace(weighted(upURL, 2), `weight = 2`, `weight = "heavy"`, 1)
	watchtest.RenameOver(t, path, []byte(broken))
	if m := sd.expect(t, "RELOADING=1"); !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
	}
	if m := sd.expect(t, "READY=1"); !strings.Contains(m, "STATUS=reload failed: ") {
		t.Errorf("a rejected reload told systemd %q", m)
	}
	if got := r.d.LastReload(); got.OK || got.Trigger != "file change" || !strings.Contains(got.Err, "clusters.toml:") {
		t.Errorf("last reload %+v, want a failed file change naming file:line", got)
	}
	if r.d.Snapshot().Config.SHA256 != digest(good) {
		t.Error("the broken file changed the running config")
	}
	if err := streamOnce(t.Context(), http.DefaultClient, "http://"+r.addrs["prod"], nil); err != nil {
		t.Errorf("the old config stopped serving: %v", err)
	}

	// The same broken bytes, written again in place: nothing new to say.
	watchtest.TruncateWrite(t, path, []byte(broken))
	time.Sleep(3 * 200 * time.Millisecond)
	if n := r.count("reload rejected"); n != 1 {
		t.Errorf("the broken file was rejected %d times, want once", n)
	}

	fixed := weighted(upURL, 3)
	watchtest.RenameOver(t, path, []byte(fixed))
	took := r.waitApplied(t, fixed)
	t.Logf("fixed file applied after %v", took)
	if m := sd.expect(t, "READY=1"); strings.Contains(m, "reload failed") {
		t.Errorf("after the fix systemd heard %q", m)
	}
	if !r.d.LastReload().OK {
		t.Errorf("last reload %+v", r.d.LastReload())
	}

	var excerpt []string
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "config problem") || strings.Contains(line, "reload rejected") || strings.Contains(line, "config reloaded") {
			excerpt = append(excerpt, line)
		}
	}
	t.Logf("log excerpt:\n%s", strings.Join(excerpt, "\n"))
	logs := r.logs.String()
	rejected, reloaded := strings.Index(logs, "reload rejected"), strings.Index(logs, "config reloaded")
	if rejected < 0 || reloaded < rejected || !strings.Contains(logs, "clusters.toml:") {
		t.Errorf("want a rejection with file:line, then an accepted reload, in the log:\n%s", logs)
	}
}
