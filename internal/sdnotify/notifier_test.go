package sdnotify

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen stands in for systemd: a unixgram socket set as NOTIFY_SOCKET.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	return conn
}

// receive returns the next datagram. The deadline only stops a broken test
// from hanging; a passing one never waits for it.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification arrived: %v", err)
	}
	return string(buf[:n])
}

func TestNotifications(t *testing.T) {
	conn := listen(t)
	n := New()
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", n.Ready, "READY=1"},
		{"ready with status", func() error { return n.ReadyStatus("serving 2 clusters") }, "READY=1\nSTATUS=serving 2 clusters"},
		{"status", func() error { return n.Status("reloading /etc/qcc/clusters.toml") }, "STATUS=reloading /etc/qcc/clusters.toml"},
		{"status cannot inject", func() error { return n.Status("bad\nSTOPPING=1\r\n") }, "STATUS=bad STOPPING=1  "},
		{"stopping", n.Stopping, "STOPPING=1"},
		{"watchdog", n.Watchdog, "WATCHDOG=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.send(); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, conn); got != tc.want {
				t.Errorf("sent %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReloadingCarriesMonotonicTime(t *testing.T) {
	conn := listen(t)
	n := New()
	before := monotonicUsec(t)
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	after := monotonicUsec(t)

	got := receive(t, conn)
	rest, ok := strings.CutPrefix(got, "RELOADING=1\nMONOTONIC_USEC=")
	if !ok {
		t.Fatalf("sent %q, want RELOADING=1 then MONOTONIC_USEC", got)
	}
	usec, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC=%q: %v", rest, err)
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d, not between %d and %d", usec, before, after)
	}
}

func monotonicUsec(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

func TestSocketIsReadOnceAndKept(t *testing.T) {
	conn := listen(t)
	path := os.Getenv("NOTIFY_SOCKET")
	n := New()
	t.Setenv("NOTIFY_SOCKET", "")
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); got != "READY=1" {
		t.Errorf("sent %q", got)
	}

	t.Setenv("NOTIFY_SOCKET", path)
	if err := New().Stopping(); err != nil {
		t.Fatal(err)
	}
	receive(t, conn)
	if got := os.Getenv("NOTIFY_SOCKET"); got != path {
		t.Errorf("NOTIFY_SOCKET = %q after notifying, want it left as %q", got, path)
	}
}

func TestNoSocketIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "30000000")
	t.Setenv("WATCHDOG_PID", "")
	n := New()
	if n.Enabled() {
		t.Error("Enabled without NOTIFY_SOCKET")
	}
	for name, send := range map[string]func() error{
		"Ready":       n.Ready,
		"ReadyStatus": func() error { return n.ReadyStatus("up") },
		"Status":      func() error { return n.Status("up") },
		"Reloading":   n.Reloading,
		"Stopping":    n.Stopping,
		"Watchdog":    n.Watchdog,
	} {
		if err := send(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := n.WatchdogInterval(); got != 0 {
		t.Errorf("WatchdogInterval = %v with nowhere to send pings", got)
	}
}

func TestSendErrorsAreReturned(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
	if err := New().Ready(); err == nil {
		t.Error("Ready to a missing socket succeeded")
	}
}

func TestSendDoesNotBlockOnAFullSocket(t *testing.T) {
	listen(t) // never read: its queue fills up
	n := New()
	n.timeout = 20 * time.Millisecond
	var err error
	for range 100_000 {
		if err = n.Watchdog(); err != nil {
			break
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("sending to a full socket: %v, want a deadline error", err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name      string
		usec, pid string
		want      time.Duration
	}{
		{"off", "", "", 0},
		{"half of the deadline", "30000000", "", 15 * time.Second},
		{"for this process", "2000000", self, time.Second},
		{"for another process", "2000000", strconv.Itoa(os.Getpid() + 1), 0},
		{"malformed", "soon", "", 0},
		{"zero", "0", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			listen(t)
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			if got := New().WatchdogInterval(); got != tc.want {
				t.Errorf("WatchdogInterval = %v, want %v", got, tc.want)
			}
		})
	}
}
