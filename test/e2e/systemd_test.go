//go:build linux

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The guest's qccd configuration. Cluster "default" is on the address and
// has the name of the shipped qccd.socket, so the socket unit is used as
// installed. Endpoint a's key is in the file, endpoint b's is a systemd
// credential; each fake upstream accepts only its own key, so a request
// that reaches one proves the key went there.
const (
	confPath = "/etc/qcc/clusters.toml"

	confDaemon = `[daemon]
drain_timeout = "30s"
`
	confDefault = `
[clusters.default]
listen   = "127.0.0.1:7860"
strategy = "round-robin"

[[clusters.default.endpoints]]
name     = "a"
base_url = "http://127.0.0.1:9101"
api_key  = "%s"
`
	confEndpointB = `
[[clusters.default.endpoints]]
name     = "b"
base_url = "http://127.0.0.1:9102"
api_key  = "credential:b-key"
`
	confSlow = `
[clusters.slow]
listen = "127.0.0.1:7870"

[[clusters.slow.endpoints]]
name     = "slow"
base_url = "http://127.0.0.1:9103"
auth     = "passthrough"
`
	// A typo that breaks the file: the strategy of cluster default.
	strategyGood = `strategy = "round-robin"`
	strategyTypo = `strategy = "round-robbin"`

	// The test's drop-in: b's key as a credential, a watchdog short enough
	// to wait for, and no start rate limit, which the test's quick
	// restarts would reach (and with it take qccd.socket down).
	dropIn = `[Unit]
StartLimitIntervalSec=0

[Service]
LoadCredential=b-key:/etc/qcc/b.key
WatchdogSec=8s
TimeoutAbortSec=5s
RestartSec=1s
`
)

// e2e is the state the steps of TestSystemd share.
type e2e struct {
	t          *testing.T
	g          *guest
	client     *http.Client
	keyA, keyB string
	confV1     string // endpoint a only
	confV2     string // a and b
}

// TestSystemd installs the .deb in a guest booted with a real systemd and
// drives qccd the way an operator would: start, requests, journal, reload,
// a broken reload, the watchdog, stop during a stream, socket activation
// across restarts, upgrade and removal. Each step needs the ones before.
func TestSystemd(t *testing.T) {
	requireGuest(t)
	deb, _ := packages(t)
	bin := buildBinaries(t)

	payload := t.TempDir()
	copyFile(t, deb[versionOld], filepath.Join(payload, "qcc-old.deb"), 0o644)
	copyFile(t, deb[versionNew], filepath.Join(payload, "qcc-new.deb"), 0o644)
	copyFile(t, filepath.Join(bin, "fakeanthropic"), filepath.Join(payload, "fakeanthropic"), 0o755)

	g := bootGuest(t, payload)
	e := &e2e{t: t, g: g, client: guestClient(g.pid, 30*time.Second), keyA: secret(t, "a"), keyB: secret(t, "b")}
	e.confV1 = confDaemon + fmt.Sprintf(confDefault, e.keyA) + confSlow
	e.confV2 = confDaemon + fmt.Sprintf(confDefault, e.keyA) + confEndpointB + confSlow

	for _, step := range []struct {
		name string
		run  func(*e2e)
	}{
		{"install", (*e2e).install},
		{"start", (*e2e).start},
		{"journal", (*e2e).journalFields},
		{"reload adds an endpoint", (*e2e).reload},
		{"broken reload keeps the old config", (*e2e).brokenReload},
		{"watchdog restarts a frozen qccd", (*e2e).watchdog},
		{"stop lets a stream finish", (*e2e).stopDuringStream},
		{"restart under load with socket activation", (*e2e).socketActivation},
		{"no key in the journal", (*e2e).noKeyLeak},
		{"upgrade keeps the config", (*e2e).upgrade},
		{"remove and purge", (*e2e).remove},
	} {
		if !t.Run(step.name, func(t *testing.T) {
			sub := *e
			sub.t, sub.g = t, &guest{t: t, pid: g.pid}
			step.run(&sub)
		}) {
			t.Logf("qccd's journal:\n%s", g.run(20*time.Second, "journalctl", "--no-pager", "-u", "qccd", "-n", "80").out)
			return
		}
	}
}

// secret is a key that must never show up in a log.
func secret(t *testing.T, name string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sk-ant-e2e-" + name + "-" + hex.EncodeToString(b)
}

func (e *e2e) install() {
	g, t := e.g, e.t
	// As in a container image: the package must not start qccd by itself
	// here; the test starts it. (Upgrade, below, runs without this.)
	g.writeFile("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n")
	if err := os.Chmod(g.path("/usr/sbin/policy-rc.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("dpkg -i qcc %s:\n%s", versionOld, g.must("dpkg", "-i", "/opt/qcc-e2e/qcc-old.deb"))

	if got := strings.TrimSpace(g.run(10*time.Second, "systemctl", "is-enabled", "qccd").out); got != "enabled" {
		t.Errorf("after install qccd.service is %q, want enabled", got)
	}
	if got := strings.TrimSpace(g.run(10*time.Second, "systemctl", "is-enabled", "qccd.socket").out); got != "disabled" {
		t.Errorf("after install qccd.socket is %q, want disabled (it is optional)", got)
	}
	if out := g.must("getent", "passwd", "qcc"); !strings.Contains(out, ":/var/lib/qccd:") {
		t.Errorf("user qcc: %s", out)
	}
	for path, want := range map[string]string{"/etc/qcc": "root:qcc 750", confPath: "root:qcc 640"} {
		if got := strings.TrimSpace(g.must("stat", "-c", "%U:%G %a", path)); got != want {
			t.Errorf("%s is %s, want %s", path, got, want)
		}
	}

	// Installed for real, with man pages: verify checks every Exec line
	// and Documentation=man: page.
	if res := g.run(time.Minute, "systemd-analyze", "verify", "qccd.service", "qccd.socket"); res.code != 0 || strings.TrimSpace(res.out) != "" {
		t.Errorf("systemd-analyze verify: exit %d\n%s", res.code, res.out)
	}
	res := g.run(time.Minute, "systemd-analyze", "security", "qccd.service")
	for _, l := range strings.Split(res.out, "\n") {
		if strings.Contains(l, "Overall exposure level") {
			t.Logf("systemd-analyze security qccd.service (installed): %s", strings.TrimPrefix(l, "→ "))
		}
	}

	g.writeFile("/etc/qcc/b.key", e.keyB+"\n")
	if err := os.Chmod(g.path("/etc/qcc/b.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(g.path("/etc/systemd/system/qccd.service.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	g.writeFile("/etc/systemd/system/qccd.service.d/e2e.conf", dropIn)
	g.must("systemctl", "daemon-reload")
	g.writeFile(confPath, e.confV1)

	for _, fake := range []struct{ unit, listen, key, events, delay string }{
		{"fake-a", "127.0.0.1:9101", e.keyA, "3", "0"},
		{"fake-b", "127.0.0.1:9102", e.keyB, "3", "0"},
		{"fake-slow", "127.0.0.1:9103", "", "20", "150ms"},
	} {
		g.must("systemd-run", "--unit="+fake.unit, "--description=fake Anthropic API "+fake.listen, "--collect", "/opt/qcc-e2e/fakeanthropic",
			"-listen", fake.listen, "-api-key", fake.key, "-events", fake.events, "-delay", fake.delay)
		e.waitListening(fake.listen)
	}
}

// waitListening waits until something accepts connections on addr in the
// guest.
func (e *e2e) waitListening(addr string) {
	e.t.Helper()
	d := netnsDialer{pid: e.g.pid}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("nothing listens on %s in the guest: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *e2e) start() {
	g, t := e.g, e.t
	began := time.Now()
	g.must("systemctl", "start", "qccd")
	p := g.show("qccd", "ActiveState", "SubState", "StatusText", "MainPID", "Type")
	t.Logf("systemctl start qccd returned after %s: %v", time.Since(began).Round(time.Millisecond), p)
	if p["ActiveState"] != "active" || p["SubState"] != "running" || p["Type"] != "notify" {
		t.Fatalf("after start: %v", p)
	}
	// STATUS= came with READY=1 in one message: systemd has it, so the
	// unit turned active on qccd's READY=1, sent once the listeners were bound.
	if !strings.Contains(p["StatusText"], "endpoints available") {
		t.Errorf("StatusText = %q, want qccd's ready summary", p["StatusText"])
	}
	// Active means serving: the very first request must succeed.
	if status, body := e.post(7860, false); status != http.StatusOK {
		t.Fatalf("first request after start: %d %s", status, body)
	}
}

func (e *e2e) journalFields() {
	g, t := e.g, e.t
	line := g.waitJournal(15*time.Second, requestLine("a"), "-u", "qccd", "CLUSTER=default")
	if line == nil {
		t.Fatal("journalctl -u qccd CLUSTER=default shows no request line from endpoint a")
	}
	want := map[string]string{"CLUSTER": "default", "ENDPOINT": "a", "METHOD": "POST", "PATH": "/v1/messages",
		"STATUS": "200", "ATTEMPTS": "1", "STREAM": "false", "SYSLOG_IDENTIFIER": "qccd", "_SYSTEMD_UNIT": "qccd.service"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s=%q, want %q", k, line[k], v)
		}
	}
	for _, k := range []string{"TTFB", "DURATION", "INPUT_TOKENS", "OUTPUT_TOKENS", "PRIORITY"} {
		if line[k] == "" {
			t.Errorf("the request line has no %s field", k)
		}
	}
	t.Logf("journalctl -u qccd CLUSTER=default: MESSAGE=%s CLUSTER=%s ENDPOINT=%s METHOD=%s PATH=%s STATUS=%s ATTEMPTS=%s TTFB=%s DURATION=%s STREAM=%s INPUT_TOKENS=%s OUTPUT_TOKENS=%s PRIORITY=%s",
		line["MESSAGE"], line["CLUSTER"], line["ENDPOINT"], line["METHOD"], line["PATH"], line["STATUS"], line["ATTEMPTS"],
		line["TTFB"], line["DURATION"], line["STREAM"], line["INPUT_TOKENS"], line["OUTPUT_TOKENS"], line["PRIORITY"])
}

func (e *e2e) reload() {
	g, t := e.g, e.t
	pid := g.show("qccd", "MainPID")["MainPID"]
	g.writeFile(confPath, e.confV2)
	g.must("systemctl", "reload", "qccd")
	// systemd 252 returns from a reload once SIGHUP is sent; qccd applies
	// the file a moment later. Round robin sends every other request to b
	// once it has.
	deadline := time.Now().Add(30 * time.Second)
	for n := 1; ; n++ {
		if status, body := e.post(7860, false); status != http.StatusOK {
			t.Fatalf("request after reload: %d %s", status, body)
		}
		if g.waitJournal(0, requestLine("b"), "-u", "qccd", "CLUSTER=default", "ENDPOINT=b") != nil {
			t.Logf("endpoint b served request %d after the reload, with its key from LoadCredential=", n)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("endpoint b, added by the reload, got no traffic")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := g.show("qccd", "MainPID")["MainPID"]; got != pid {
		t.Errorf("MainPID changed from %s to %s: a reload must not restart qccd", pid, got)
	}
	if g.waitJournal(10*time.Second, func(e entry) bool { return e["MESSAGE"] == "config reloaded" && e["TRIGGER"] == "SIGHUP" }, "-u", "qccd") == nil {
		t.Error("no \"config reloaded\" line with TRIGGER=SIGHUP")
	}
}

func (e *e2e) brokenReload() {
	g, t := e.g, e.t
	pid := g.show("qccd", "MainPID")["MainPID"]
	broken := strings.Replace(e.confV2, strategyGood, strategyTypo, 1)
	brokenLine := 1 + strings.Count(broken[:strings.Index(broken, strategyTypo)], "\n")
	g.writeFile(confPath, broken)
	res := g.run(time.Minute, "systemctl", "reload", "qccd")
	t.Logf("systemctl reload qccd with a broken file: exit %d: %s", res.code, strings.TrimSpace(res.out))
	if res.code == 0 {
		t.Fatal("systemctl reload succeeded on a broken file")
	}
	p := g.show("qccd", "ActiveState", "MainPID")
	if p["ActiveState"] != "active" || p["MainPID"] != pid {
		t.Fatalf("after the failed reload: %v, want active with MainPID %s", p, pid)
	}
	// The operator sees why, with file and line, in the unit's journal.
	where := fmt.Sprintf("%s:%d", confPath, brokenLine)
	if g.waitJournal(10*time.Second, message(where), "-u", "qccd") == nil {
		t.Errorf("the journal does not point at %s", where)
	}
	// The old config (a and b) keeps serving.
	servedByB := func() int { return count(g.journal("-u", "qccd", "ENDPOINT=b"), requestLine("b")) }
	before := servedByB()
	for i := 0; i < 4; i++ {
		if status, body := e.post(7860, false); status != http.StatusOK {
			t.Fatalf("request after the failed reload: %d %s", status, body)
		}
	}
	if !eventually(10*time.Second, func() bool { return servedByB() > before }) {
		t.Error("endpoint b stopped getting traffic after the failed reload")
	}

	g.writeFile(confPath, e.confV2)
	g.must("systemctl", "reload", "qccd")
}

func (e *e2e) watchdog() {
	g, t := e.g, e.t
	before := g.show("qccd", "MainPID", "NRestarts", "WatchdogUSec")
	t.Logf("freezing qccd (MainPID %s, WatchdogUSec=%s) with SIGSTOP", before["MainPID"], before["WatchdogUSec"])
	frozen := time.Now()
	g.must("systemctl", "kill", "--kill-whom=main", "--signal=SIGSTOP", "qccd")

	deadline := time.Now().Add(60 * time.Second)
	for {
		p := g.show("qccd", "ActiveState", "SubState", "MainPID", "NRestarts")
		if p["ActiveState"] == "active" && p["SubState"] == "running" && p["MainPID"] != before["MainPID"] && p["MainPID"] != "0" {
			restarts, _ := strconv.Atoi(p["NRestarts"])
			was, _ := strconv.Atoi(before["NRestarts"])
			if restarts != was+1 {
				t.Errorf("NRestarts went from %d to %d, want one restart", was, restarts)
			}
			t.Logf("systemd restarted qccd %s after the freeze: MainPID %s -> %s", time.Since(frozen).Round(100*time.Millisecond), before["MainPID"], p["MainPID"])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("qccd was not restarted within 60 s of freezing: %v", p)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if g.waitJournal(10*time.Second, message("Watchdog timeout"), "-u", "qccd") == nil {
		t.Error("systemd logged no watchdog timeout for qccd")
	}
	if status, body := e.post(7860, false); status != http.StatusOK {
		t.Fatalf("request after the watchdog restart: %d %s", status, body)
	}
}

func (e *e2e) stopDuringStream() {
	g, t := e.g, e.t
	resp, err := e.request(7870, true)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	r := bufio.NewReader(resp.Body)
	var stream strings.Builder
	for !strings.Contains(stream.String(), "event: content_block_delta") {
		line, err := r.ReadString('\n')
		stream.WriteString(line)
		if err != nil {
			t.Fatalf("the stream ended before its first delta: %v\n%s", err, stream.String())
		}
	}

	type stopped struct {
		res result
		at  time.Time
	}
	done := make(chan stopped, 1)
	go func() {
		res := g.run(90*time.Second, "systemctl", "stop", "qccd")
		done <- stopped{res, time.Now()}
	}()
	rest, err := io.ReadAll(r)
	streamEnd := time.Now()
	stream.Write(rest)
	if err != nil {
		t.Errorf("reading the stream during stop: %v", err)
	}
	s := <-done
	if s.res.code != 0 {
		t.Fatalf("systemctl stop qccd: exit %d: %s", s.res.code, s.res.out)
	}
	body := stream.String()
	if !strings.Contains(body, "event: message_stop") || strings.Contains(body, "event: error") {
		t.Fatalf("the stream did not complete cleanly during the stop:\n%s", body)
	}
	if s.at.Before(streamEnd.Add(-time.Second)) {
		t.Errorf("systemctl stop returned at %s, before the stream ended at %s", s.at.Format(time.StampMilli), streamEnd.Format(time.StampMilli))
	}
	// The drain began while the stream was still running.
	drain := g.waitJournal(10*time.Second, message("stopping: draining"), "-u", "qccd")
	if drain == nil {
		t.Fatal("no \"stopping: draining\" line")
	}
	usec, _ := strconv.ParseInt(drain["__REALTIME_TIMESTAMP"], 10, 64)
	if began := time.UnixMicro(usec); !began.Before(streamEnd) {
		t.Errorf("qccd began draining at %s, after the stream ended at %s", began.Format(time.StampMilli), streamEnd.Format(time.StampMilli))
	}
	p := g.show("qccd", "ActiveState", "Result", "ExecMainStatus")
	if p["ActiveState"] != "inactive" || p["Result"] != "success" || p["ExecMainStatus"] != "0" {
		t.Errorf("after stop: %v", p)
	}
	t.Logf("the stream completed (%d events) %s before systemctl stop returned; qccd exited 0",
		strings.Count(body, "event: "), s.at.Sub(streamEnd).Round(time.Millisecond))
}

func (e *e2e) socketActivation() {
	g, t := e.g, e.t

	// Without the socket unit, for comparison: qccd binds its own socket,
	// and a restart closes it for a moment.
	g.must("systemctl", "start", "qccd")
	own := e.restartUnderLoad()
	t.Logf("without qccd.socket: %s", own)

	g.must("systemctl", "stop", "qccd")
	g.must("systemctl", "enable", "--now", "qccd.socket")
	g.must("systemctl", "start", "qccd")
	if g.waitJournal(10*time.Second, message("serving the socket systemd passed"), "-u", "qccd", "CLUSTER=default") == nil {
		t.Fatal("qccd did not take the socket that qccd.socket passed")
	}
	held := e.restartUnderLoad()
	t.Logf("with qccd.socket: %s", held)
	if held.refused != 0 {
		t.Errorf("with socket activation, restarts refused %d connections; want none", held.refused)
	}
	if held.badStatus != 0 || held.other != 0 {
		t.Errorf("restarts failed %d requests with an error status and %d otherwise (first: %v)", held.badStatus, held.other, held.firstErr)
	}
	if held.dropped != 0 {
		// Accepted by the stopping qccd, then closed unanswered: the
		// listener must let accepted connections be read before Shutdown
		// (internal/daemon/listener.go).
		t.Errorf("%d requests accepted by the stopping qccd were closed unanswered (first: %v)", held.dropped, held.firstDrop)
	}
	if held.ok < 20 {
		t.Errorf("only %d requests were answered; the load did not run", held.ok)
	}
}

// load is what a burst of requests met.
type load struct {
	ok        int   // answered 200
	refused   int   // the connection was refused: nothing listened
	dropped   int   // connected, then closed unanswered (EOF or reset)
	badStatus int   // answered with another status
	other     int   // any other failure
	firstErr  error // the first failure that is not a drop
	firstDrop error
}

func (l load) String() string {
	return fmt.Sprintf("%d requests across 2 restarts: %d answered, %d connections refused, %d closed unanswered, %d error statuses, %d other failures",
		l.ok+l.refused+l.dropped+l.badStatus+l.other, l.ok, l.refused, l.dropped, l.badStatus, l.other)
}

// restartUnderLoad restarts qccd twice while four clients send requests
// to cluster default as fast as they are answered, each on a new
// connection, and counts what they got.
func (e *e2e) restartUnderLoad() load {
	e.t.Helper()
	var (
		stop atomic.Bool
		wg   sync.WaitGroup
		mu   sync.Mutex
		l    load
	)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				status := 0
				resp, err := e.request(7860, false)
				if err == nil {
					status = resp.StatusCode
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				switch {
				case err == nil && status == http.StatusOK:
					l.ok++
				case err == nil:
					l.badStatus++
					err = fmt.Errorf("status %d", status)
				case errors.Is(err, syscall.ECONNREFUSED):
					l.refused++
				case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
					l.dropped++
					if l.firstDrop == nil {
						l.firstDrop = err
					}
					err = nil
				default:
					l.other++
				}
				if err != nil && l.firstErr == nil && !errors.Is(err, syscall.ECONNREFUSED) {
					l.firstErr = err
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond) // a refused connect returns at once
				}
			}
		}()
	}
	time.Sleep(time.Second)
	for i := 0; i < 2; i++ {
		before := e.g.show("qccd", "MainPID")["MainPID"]
		e.g.must("systemctl", "restart", "qccd")
		if after := e.g.show("qccd", "MainPID")["MainPID"]; after == before {
			e.t.Errorf("systemctl restart kept MainPID %s", before)
		}
		time.Sleep(time.Second)
	}
	stop.Store(true)
	wg.Wait()
	return l
}

func (e *e2e) noKeyLeak() {
	g, t := e.g, e.t
	// Every field of every entry, but those of the fake upstreams, whose
	// command lines carry the keys they accept.
	entries := g.journal()
	checked := 0
	for _, en := range entries {
		if strings.HasPrefix(en["_SYSTEMD_UNIT"], "fake-") {
			continue
		}
		checked++
		for field, value := range en {
			for _, key := range []string{e.keyA, e.keyB} {
				if strings.Contains(value, key) {
					t.Errorf("a key (%s…) appears in %s of a journal entry from %s/%s: %q",
						key[:14], field, en["_SYSTEMD_UNIT"], en["SYSLOG_IDENTIFIER"], en["MESSAGE"])
				}
			}
		}
	}
	t.Logf("neither key appears in %d journal entries (the fake upstreams' own left out)", checked)
}

func (e *e2e) upgrade() {
	g, t := e.g, e.t
	// A machine without the container's policy-rc.d: Debian's convention
	// restarts a running service on upgrade.
	if err := os.Remove(g.path("/usr/sbin/policy-rc.d")); err != nil {
		t.Fatal(err)
	}
	pid := g.show("qccd", "MainPID")["MainPID"]
	t.Logf("dpkg -i qcc %s over %s:\n%s", versionNew, versionOld, g.must("dpkg", "-i", "/opt/qcc-e2e/qcc-new.deb"))
	b, err := os.ReadFile(g.path(confPath))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != e.confV2 {
		t.Errorf("the upgrade changed the admin's %s:\n%s", confPath, b)
	}
	if _, err := os.Stat(g.path(confPath + ".dpkg-dist")); err == nil {
		t.Error("the upgrade left a .dpkg-dist beside an unchanged conffile")
	}
	if v := strings.TrimSpace(g.must("dpkg-query", "-W", "-f", "${Version}", "qcc")); v != versionNew+"-1" {
		t.Errorf("installed version %s, want %s-1", v, versionNew)
	}
	p := g.show("qccd", "ActiveState", "MainPID")
	if p["ActiveState"] != "active" || p["MainPID"] == pid {
		t.Errorf("after upgrade: %v; want active and restarted (MainPID was %s)", p, pid)
	}
	if status, body := e.post(7860, false); status != http.StatusOK {
		t.Fatalf("request after upgrade: %d %s", status, body)
	}
}

func (e *e2e) remove() {
	g, t := e.g, e.t
	t.Logf("dpkg -r qcc:\n%s", g.must("dpkg", "-r", "qcc"))
	for _, unit := range []string{"qccd.service", "qccd.socket"} {
		if state := strings.TrimSpace(g.run(10*time.Second, "systemctl", "is-active", unit).out); state == "active" {
			t.Errorf("%s is still active after removal", unit)
		}
	}
	if _, err := os.Stat(g.path("/usr/bin/qccd")); err == nil {
		t.Error("/usr/bin/qccd is still there after removal")
	}
	if _, err := os.Stat(g.path(confPath)); err != nil {
		t.Errorf("removal (not purge) took the admin's config: %v", err)
	}
	t.Logf("dpkg -P qcc:\n%s", g.must("dpkg", "-P", "qcc"))
	for _, p := range []string{confPath, "/var/lib/qccd", "/etc/systemd/system/sockets.target.wants/qccd.socket", "/etc/systemd/system/multi-user.target.wants/qccd.service"} {
		if _, err := os.Lstat(g.path(p)); err == nil {
			t.Errorf("%s is still there after purge", p)
		}
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(300 * time.Millisecond)
	}
	return true
}

// request sends a small Messages request to a cluster port in the guest.
func (e *e2e) request(port int, stream bool) (*http.Response, error) {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hello from the e2e test"}]}`, stream)
	req, err := http.NewRequest(http.MethodPost, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/v1/messages", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", "client-key") // replaced by the endpoint's own, except on passthrough
	return e.client.Do(req)
}

func (e *e2e) post(port int, stream bool) (int, string) {
	e.t.Helper()
	resp, err := e.request(port, stream)
	if err != nil {
		e.t.Fatalf("request to 127.0.0.1:%d in the guest: %v", port, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading the response: %v", err)
	}
	return resp.StatusCode, string(b)
}
