package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// TestReloadCarriesStateByIdentity: a reload that changes weights keeps
// every endpoint whose identity is unchanged as it was (the same state,
// still cooling down or disabled, the same connections) and keeps the
// session table, so a conversation stays on its endpoint even when the new
// weights would send it elsewhere. The weights take effect.
func TestReloadCarriesStateByIdentity(t *testing.T) {
	ups := map[string]*fakeupstream.Server{}
	var eps []endpointSpec
	for _, name := range []string{"p", "q", "cool", "off"} {
		up, url := upstream(t, fakeupstream.Options{Events: 2})
		ups[name] = up
		eps = append(eps, endpointSpec{name: name, url: url, weight: 100})
	}
	spec := clusterSpec{name: "prod", listen: "127.0.0.1:0", affinity: true, endpoints: eps}
	path := filepath.Join(t.TempDir(), "clusters.toml")
	writeConfig(t, path, reloadConfig("watch = false", spec))
	r := startRig(t, path)
	url := "http://" + r.addrs["prod"]

	before := r.d.Snapshot().Cluster("prod")
	cool, off := before.Endpoint("cool"), before.Endpoint("off")
	cool.State.Report(time.Now(), cool.Policy, endpoint.Result{Outcome: endpoint.Overloaded, Reason: "529 overloaded"})
	off.State.SetDisabled(true, "qcc disable")
	until := cool.State.CooldownUntil()

	// The session lands on p or q; call that one home.
	session := http.Header{"X-Claude-Code-Session-Id": {"session-1"}}
	if err := streamOnce(t.Context(), http.DefaultClient, url, session); err != nil {
		t.Fatal(err)
	}
	home, other := "p", "q"
	if ups["q"].Stats().Requests == 1 {
		home, other = "q", "p"
	}

	// New weights that would send almost everything to the other one.
	for i := range spec.endpoints {
		switch spec.endpoints[i].name {
		case home:
			spec.endpoints[i].weight = 1
		case other:
			spec.endpoints[i].weight = 1000
		}
	}
	writeConfig(t, path, reloadConfig("watch = false", spec))
	if err := r.d.Reload("test"); err != nil {
		t.Fatal(err)
	}

	after := r.d.Snapshot().Cluster("prod")
	for _, name := range []string{"p", "q", "cool", "off"} {
		b, a := before.Endpoint(name), after.Endpoint(name)
		if a.State != b.State || a.Transport != b.Transport {
			t.Errorf("%s: a new state or transport after a weight change", name)
		}
	}
	if got := after.Endpoint(home).Config.Weight; got != 1 {
		t.Errorf("%s: weight %d after reload, want 1", home, got)
	}
	if s := after.Endpoint("cool").State.Status(); s != endpoint.CoolingDown || !after.Endpoint("cool").State.CooldownUntil().Equal(until) {
		t.Errorf("cool: %v until %v after reload, want cooling down until %v", s, after.Endpoint("cool").State.CooldownUntil(), until)
	}
	if s := after.Endpoint("off").State.Status(); s != endpoint.Disabled {
		t.Errorf("off: %v after reload, want still disabled", s)
	}
	if after.Affinity != before.Affinity {
		t.Error("the session table was replaced")
	}

	for range 5 {
		if err := streamOnce(t.Context(), http.DefaultClient, url, session); err != nil {
			t.Fatal(err)
		}
	}
	if n := ups[home].Stats().Requests; n != 6 {
		t.Errorf("the session's endpoint %s served %d of its 6 requests; affinity was lost in the reload", home, n)
	}
	if n := ups[other].Stats().Requests; n != 0 {
		t.Errorf("%s, heavier but not the session's, served %d of them", other, n)
	}
}

// TestReloadListeners: across one reload, a cluster whose address is
// unchanged keeps its socket (a kept-alive connection is reused); an added
// cluster serves on its new address; a moved cluster serves on the new
// address and stops accepting on the old; a removed cluster stops
// accepting. Streams in flight on the moved and removed listeners finish
// on the snapshot they started with.
func TestReloadListeners(t *testing.T) {
	_, fastURL := upstream(t, fakeupstream.Options{Events: 2})
	_, slowURL := upstream(t, fakeupstream.Options{Events: 20, EventDelay: 50 * time.Millisecond})
	ep := func(url string) []endpointSpec { return []endpointSpec{{name: "e", url: url, weight: 100}} }
	movedFrom, movedTo, removedAt, addedAt := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)

	path := filepath.Join(t.TempDir(), "clusters.toml")
	writeConfig(t, path, reloadConfig("watch = false",
		clusterSpec{name: "kept", listen: "127.0.0.1:0", endpoints: ep(fastURL)},
		clusterSpec{name: "moved", listen: movedFrom, endpoints: ep(slowURL)},
		clusterSpec{name: "removed", listen: removedAt, endpoints: ep(slowURL)}))
	r := startRig(t, path)
	kept := "http://" + r.addrs["kept"]

	// A kept-alive connection to the kept cluster, to see whether the
	// reload keeps it.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	if err := streamOnce(t.Context(), client, kept, nil); err != nil {
		t.Fatal(err)
	}

	// A stream in flight on each listener that goes away.
	inflight := map[string]chan error{}
	for name, addr := range map[string]string{"moved": movedFrom, "removed": removedAt} {
		done := make(chan error, 1)
		inflight[name] = done
		go func() { done <- streamOnce(context.Background(), http.DefaultClient, "http://"+addr, nil) }()
	}
	time.Sleep(200 * time.Millisecond) // let both streams begin

	writeConfig(t, path, reloadConfig("watch = false",
		clusterSpec{name: "kept", listen: "127.0.0.1:0", endpoints: ep(fastURL)},
		clusterSpec{name: "moved", listen: movedTo, endpoints: ep(fastURL)},
		clusterSpec{name: "added", listen: addedAt, endpoints: ep(fastURL)}))
	if err := r.d.Reload("test"); err != nil {
		t.Fatal(err)
	}

	var reused bool
	trace := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	if err := streamOnce(trace, client, kept, nil); err != nil || !reused {
		t.Errorf("kept cluster after reload: err %v, connection reused %v", err, reused)
	}
	for _, addr := range []string{movedTo, addedAt} {
		if err := streamOnce(t.Context(), http.DefaultClient, "http://"+addr, nil); err != nil {
			t.Errorf("%s after reload: %v", addr, err)
		}
	}
	for _, addr := range []string{movedFrom, removedAt} {
		// The streams are still running; the sockets are closed already.
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after the reload", addr)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s: %v, want connection refused", addr, err)
		}
	}
	for name, done := range inflight {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stream in flight on the %s cluster: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("stream in flight on the %s cluster never finished", name)
		}
	}
}

// TestReloadMoveBackWhileDraining: a cluster moved away and straight back
// while its old listener still drains a stream is served again at once;
// the old listener's component name being taken is no reason to reject.
func TestReloadMoveBackWhileDraining(t *testing.T) {
	_, slowURL := upstream(t, fakeupstream.Options{Events: 20, EventDelay: 50 * time.Millisecond})
	_, fastURL := upstream(t, fakeupstream.Options{Events: 2})
	home, away := freeAddr(t), freeAddr(t)
	cfg := func(listen, url string) string {
		return reloadConfig("watch = false", clusterSpec{name: "prod", listen: listen,
			endpoints: []endpointSpec{{name: "e", url: url, weight: 100}}})
	}
	path := filepath.Join(t.TempDir(), "clusters.toml")
	writeConfig(t, path, cfg(home, slowURL))
	r := startRig(t, path)

	done := make(chan error, 1)
	go func() { done <- streamOnce(context.Background(), http.DefaultClient, "http://"+home, nil) }()
	time.Sleep(200 * time.Millisecond)
	for _, c := range []string{cfg(away, fastURL), cfg(home, fastURL)} {
		writeConfig(t, path, c)
		if err := r.d.Reload("test"); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	if err := streamOnce(t.Context(), http.DefaultClient, "http://"+home, nil); err != nil {
		t.Errorf("back home: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("the stream that started before the moves: %v", err)
	}
}

// TestSIGHUPReappliesUnchangedFile: SIGHUP reloads even when clusters.toml
// is byte for byte the same, so that a key rotated in a file: secret takes
// effect; the file watcher, which sees only clusters.toml's content, does
// not. The key never shows in the log.
func TestSIGHUPReappliesUnchangedFile(t *testing.T) {
	const oldKey, newKey = "sk-ant-api03-old-key-for-reload", "sk-ant-api03-new-key-for-reload"
	up, upURL := upstream(t, fakeupstream.Options{Events: 2, APIKey: newKey})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	writeConfig(t, keyFile, oldKey)
	path := filepath.Join(dir, "clusters.toml")
	writeConfig(t, path, fmt.Sprintf(`[daemon]
admin_socket = ""

[clusters.prod]
listen = "127.0.0.1:0"

[[clusters.prod.endpoints]]
name = "main"
base_url = %q
api_key = "file:key"
`, upURL))
	r := startRig(t, path)
	url := "http://" + r.addrs["prod"]
	if err := streamOnce(t.Context(), http.DefaultClient, url, nil); err == nil {
		t.Fatal("the old key was accepted")
	}

	writeConfig(t, keyFile, newKey)
	time.Sleep(3 * 200 * time.Millisecond) // the watcher hears the write, and must let it be
	if got := r.d.LastReload(); !got.At.IsZero() {
		t.Errorf("the watcher reloaded an unchanged clusters.toml: %+v", got)
	}
	r.reload <- syscall.SIGHUP
	deadline := time.Now().Add(10 * time.Second)
	for r.d.LastReload().Trigger != "SIGHUP" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.d.LastReload(); !got.OK || got.Trigger != "SIGHUP" {
		t.Fatalf("last reload %+v, want a successful SIGHUP", got)
	}
	if err := streamOnce(t.Context(), http.DefaultClient, url, nil); err != nil {
		t.Errorf("with the new key: %v", err)
	}
	if up.Stats().Requests != 2 {
		t.Errorf("upstream saw %d requests, want 2", up.Stats().Requests)
	}
	if logs := r.logs.String(); strings.Contains(logs, "sk-ant-") {
		t.Errorf("a key leaked into the log:\n%s", logs)
	}
}

// TestReloadsUnderStreamingLoad: 100 reloads that alternate endpoint a's
// weight and add and remove endpoint b, while clients stream through qccd
// without pause, cost no request: every one gets a 200 and a stream that
// ends with message_stop.
func TestReloadsUnderStreamingLoad(t *testing.T) {
	const (
		reloads = 100
		clients = 6
	)
	upA, urlA := upstream(t, fakeupstream.Options{Events: 5, EventDelay: 10 * time.Millisecond, MaxRecorded: -1})
	upB, urlB := upstream(t, fakeupstream.Options{Events: 5, EventDelay: 10 * time.Millisecond, MaxRecorded: -1})
	cfg := func(i int) string {
		eps := []endpointSpec{{name: "a", url: urlA, weight: 50 + 50*(i%2)}}
		if i%4 < 2 {
			eps = append(eps, endpointSpec{name: "b", url: urlB, weight: 100})
		}
		return reloadConfig("watch = false", clusterSpec{name: "prod", listen: "127.0.0.1:0", affinity: true, endpoints: eps})
	}
	path := filepath.Join(t.TempDir(), "clusters.toml")
	writeConfig(t, path, cfg(0))
	r := startRig(t, path)
	url := "http://" + r.addrs["prod"]

	ctx, stop := context.WithCancel(t.Context())
	var sent, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			// Half the clients keep a session, which affinity holds on
			// its endpoint across reloads; the others go where the
			// weights of the moment send them.
			var session http.Header
			if c%2 == 0 {
				session = http.Header{"X-Claude-Code-Session-Id": {fmt.Sprintf("client-%d", c)}}
			}
			for ctx.Err() == nil {
				// Each request runs to its end even after stop: a request
				// cut by the test is not one qccd failed.
				err := streamOnce(context.Background(), client, url, session)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		})
	}

	start := time.Now()
	for i := 1; i <= reloads; i++ {
		writeConfig(t, path, cfg(i))
		if err := r.d.Reload("test"); err != nil {
			t.Errorf("reload %d: %v", i, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	stop()
	wg.Wait()

	t.Logf("%d reloads in %v under %d streaming clients: %d requests (a %d, b %d), %d failed",
		reloads, took.Round(time.Millisecond), clients, sent.Load(), upA.Stats().Requests, upB.Stats().Requests, failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed, first: %s", failed.Load(), sent.Load(), failures[0])
	}
	if sent.Load() < 5*clients {
		t.Errorf("only %d requests ran across %d reloads; the load did not overlap the reloads", sent.Load(), reloads)
	}
	if upB.Stats().Requests == 0 {
		t.Error("endpoint b never served; the reloads did not add it")
	}
	if n := r.count("reload rejected"); n > 0 {
		t.Errorf("%d reloads rejected", n)
	}
}
