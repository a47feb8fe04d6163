// Package sdnotify tells systemd about the daemon's life cycle: ready,
// reloading, stopping, status lines and watchdog pings.
//
// Outside systemd (a terminal, launchd on macOS) NOTIFY_SOCKET is unset and
// every method is a no-op, so callers never need to know where they run.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// sendTimeout bounds one notification. systemd reads its socket promptly; if
// it does not, the daemon must keep serving rather than wait for it.
const sendTimeout = time.Second

// Notifier sends state changes to systemd. Its methods are safe for
// concurrent use. Errors are returned for the caller to log: a lost
// notification never stops the daemon.
type Notifier struct {
	// socket is NOTIFY_SOCKET as it was when New ran; "" makes every method
	// a no-op. It is read once and the environment is left alone, so that
	// reloads keep notifying and child processes are not affected.
	socket   string
	watchdog time.Duration
	timeout  time.Duration
}

// New returns a Notifier for the NOTIFY_SOCKET and watchdog settings systemd
// gave this process.
func New() *Notifier {
	n := &Notifier{socket: os.Getenv("NOTIFY_SOCKET"), timeout: sendTimeout}
	if n.socket != "" {
		// A malformed WATCHDOG_USEC is not something systemd produces; the
		// watchdog is then treated as off.
		if every, err := daemon.SdWatchdogEnabled(false); err == nil && every > 0 {
			// Ping at half the deadline, as sd_watchdog_enabled(3) advises,
			// so one late tick does not get the process killed.
			n.watchdog = every / 2
		}
	}
	return n
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// WatchdogInterval returns how often Watchdog should be called: half of
// WATCHDOG_USEC, or 0 when systemd runs no watchdog for this process
// (including when WATCHDOG_PID names another process).
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }

// Ready tells systemd that start-up, or a reload, has finished.
func (n *Notifier) Ready() error { return n.send(daemon.SdNotifyReady) }

// ReadyStatus is Ready with a status line, in one message so that
// `systemctl status` never shows a ready unit with a stale status.
func (n *Notifier) ReadyStatus(status string) error {
	return n.send(daemon.SdNotifyReady + "\n" + statusLine(status))
}

// Status sets the free-form status line shown by `systemctl status`.
func (n *Notifier) Status(status string) error { return n.send(statusLine(status)) }

// Reloading tells systemd that a configuration reload has begun; Ready must
// follow when it is done. The monotonic timestamp is what Type=notify-reload
// units require to match the reload to its request.
func (n *Notifier) Reloading() error {
	if !n.Enabled() {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sdnotify: reading the monotonic clock: %w", err)
	}
	return n.send(daemon.SdNotifyReloading + "\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10))
}

// Stopping tells systemd that shutdown has begun.
func (n *Notifier) Stopping() error { return n.send(daemon.SdNotifyStopping) }

// Watchdog pings the systemd watchdog.
func (n *Notifier) Watchdog() error { return n.send(daemon.SdNotifyWatchdog) }

// statusLine makes status a single STATUS= assignment: a newline in it would
// otherwise start a new assignment, such as READY=1 or STOPPING=1.
func statusLine(status string) string {
	return "STATUS=" + strings.NewReplacer("\r", " ", "\n", " ").Replace(status)
}

// send writes state as one datagram. It does this itself rather than through
// daemon.SdNotify, which can block without limit when systemd's socket queue
// is full and rereads the environment on every call.
func (n *Notifier) send(state string) error {
	if !n.Enabled() {
		return nil
	}
	what, _, _ := strings.Cut(state, "=") // the first variable's name, for errors
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %s: %w", what, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(n.timeout)); err != nil {
		return fmt.Errorf("sdnotify: %s: %w", what, err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: %s: %w", what, err)
	}
	return nil
}
