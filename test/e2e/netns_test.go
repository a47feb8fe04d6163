//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDialer dials TCP from inside the network namespace of a process, so
// that the test, on the host, reaches qccd on the guest's loopback. A
// socket belongs to the namespace it was created in, whatever thread uses
// it later: only its creation happens on a thread switched into the guest's
// namespace, and that thread is switched back before it is released.
type netnsDialer struct {
	pid int // a process in the namespace: the guest's systemd
}

func (d netnsDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type dialed struct {
		conn net.Conn
		err  error
	}
	ch := make(chan dialed, 1)
	go func() {
		conn, err := d.dialInNamespace(ctx, network, addr)
		ch <- dialed{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

func (d netnsDialer) dialInNamespace(ctx context.Context, network, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	own, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer own.Close()
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", d.pid))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("entering the guest's network namespace: %w", err)
	}
	var dialer net.Dialer
	conn, dialErr := dialer.DialContext(ctx, network, addr)
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so the runtime ends it with this
		// goroutine rather than reuse it in the wrong namespace.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("leaving the guest's network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

// guestClient returns an HTTP client whose connections are made in the
// guest's network namespace. Each request gets a connection of its own, so
// that a request made while qccd restarts really tries to connect.
func guestClient(pid int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       netnsDialer{pid: pid}.DialContext,
			DisableKeepAlives: true,
		},
	}
}
