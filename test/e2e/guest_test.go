//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guest is a systemd booted as PID 1 of private PID, mount, UTS, IPC,
// network and cgroup namespaces (testdata/boot-guest.sh). Its root is an
// overlay of the host's root with a tmpfs on top, so nothing it writes
// reaches the host; its network is its own loopback.
type guest struct {
	t       *testing.T
	pid     int           // the guest's systemd, as the host sees it
	unshare *exec.Cmd     // the unshare process that holds the namespaces
	exited  chan struct{} // closed once unshare has exited, after exitErr is set
	exitErr error
	cgroup  string // the cgroup2 directory made for the guest
	console string // what systemd wrote to /dev/console
}

// guestEnv is the environment of commands run in the guest.
var guestEnv = []string{
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
	"SYSTEMD_PAGER=",
	"SYSTEMD_COLORS=0",
	"DEBIAN_FRONTEND=noninteractive",
}

// requireGuest skips the test unless this machine can boot a guest.
func requireGuest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots systemd in namespaces; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces and boot systemd in them (CI runs as root)")
	}
	for _, tool := range []string{"unshare", "nsenter", "pivot_root", "dpkg-deb", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux, dpkg, iproute2): %v", tool, err)
		}
	}
	if _, err := os.Stat("/lib/systemd/systemd"); err != nil {
		t.Skipf("needs systemd installed at /lib/systemd/systemd: %v", err)
	}
	if _, err := cgroup2Dir(); err != nil {
		t.Skipf("needs a cgroup2 hierarchy to give the guest a cgroup of its own: %v", err)
	}
}

// bootGuest boots a guest whose /opt/qcc-e2e holds the files of payload,
// and waits until its systemd has finished booting. The guest is powered
// off, or killed, when the test ends.
func bootGuest(t *testing.T, payload string) *guest {
	t.Helper()
	base := t.TempDir()
	g := &guest{t: t, exited: make(chan struct{}), console: filepath.Join(base, "console.log")}
	if err := os.WriteFile(g.console, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}

	// The guest's systemd organises its cgroup tree as it likes; give it a
	// subtree of its own, which the cgroup namespace makes its root.
	parent, err := cgroup2Dir()
	if err != nil {
		t.Fatal(err)
	}
	g.cgroup = filepath.Join(parent, fmt.Sprintf("qcc-e2e-%d", os.Getpid()))
	if err := os.Mkdir(g.cgroup, 0o755); err != nil {
		t.Fatal(err)
	}
	cgfd, err := os.Open(g.cgroup)
	if err != nil {
		t.Fatal(err)
	}
	defer cgfd.Close()

	script, err := filepath.Abs("testdata/boot-guest.sh")
	if err != nil {
		t.Fatal(err)
	}
	// --kill-child and Pdeathsig: if this test process dies (a timeout
	// panic), unshare dies, and with it the guest's PID 1 and everything
	// in its PID namespace.
	g.unshare = exec.Command("unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--cgroup",
		"--kill-child=SIGKILL", script, mnt, payload, g.console)
	g.unshare.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig:   syscall.SIGKILL,
		UseCgroupFD: true,
		CgroupFD:    int(cgfd.Fd()),
	}
	var out bytes.Buffer
	g.unshare.Stdout, g.unshare.Stderr = &out, &out
	if err := g.unshare.Start(); err != nil {
		os.Remove(g.cgroup)
		t.Fatalf("unshare: %v", err)
	}
	go func() {
		g.exitErr = g.unshare.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() {
		g.shutdown()
		if t.Failed() {
			t.Logf("boot script output:\n%s", out.String())
			if b, err := os.ReadFile(g.console); err == nil {
				t.Logf("guest console (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for g.pid == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the guest's systemd did not start; boot script said:\n%s", out.String())
		}
		select {
		case <-g.exited:
			t.Fatalf("the guest exited while booting (%v):\n%s", g.exitErr, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if pid := childOf(g.unshare.Process.Pid); pid != 0 {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasSuffix(exe, "/systemd/systemd") {
				g.pid = pid
			}
		}
	}
	// is-system-running --wait returns once boot is over: "running", or
	// "degraded" when a unit failed, which is worth knowing but not fatal.
	var state string
	for time.Now().Before(deadline.Add(60 * time.Second)) {
		res := g.run(30*time.Second, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(res.out)
		if state == "running" || state == "degraded" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	switch state {
	case "running":
	case "degraded":
		t.Logf("guest booted degraded:\n%s", g.run(10*time.Second, "systemctl", "--failed", "--no-legend").out)
	default:
		t.Fatalf("guest did not finish booting: %q", state)
	}
	return g
}

// result is what a command in the guest did.
type result struct {
	out  string // stdout and stderr, interleaved
	code int    // exit status; -1 when it did not run or was killed
}

// run runs a command in the guest's namespaces and root, bounded by timeout.
func (g *guest) run(timeout time.Duration, name string, args ...string) result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(g.pid), "-a", name}, args...)...)
	cmd.Env = guestEnv
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Exited() {
			code = exit.ExitCode()
		}
		if ctx.Err() != nil {
			fmt.Fprintf(&out, "\n[timed out after %s]", timeout)
		}
	}
	return result{out: out.String(), code: code}
}

// must runs a command in the guest and fails the test unless it succeeds.
func (g *guest) must(name string, args ...string) string {
	g.t.Helper()
	res := g.run(2*time.Minute, name, args...)
	if res.code != 0 {
		g.t.Fatalf("%s %s: exit %d:\n%s", name, strings.Join(args, " "), res.code, res.out)
	}
	return res.out
}

// path is where the host reaches a file of the guest's root.
func (g *guest) path(p string) string { return fmt.Sprintf("/proc/%d/root%s", g.pid, p) }

// writeFile writes a file in the guest in place, as an editor that keeps
// the file's owner and mode does.
func (g *guest) writeFile(p, content string) {
	g.t.Helper()
	f, err := os.OpenFile(g.path(p), os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		g.t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		g.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		g.t.Fatal(err)
	}
}

// show returns a unit's properties as systemctl show prints them.
func (g *guest) show(unit string, props ...string) map[string]string {
	g.t.Helper()
	out := g.must("systemctl", "show", unit, "-p", strings.Join(props, ","))
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// shutdown powers the guest off, and kills it when that does not work in
// time. It then removes the guest's cgroup.
func (g *guest) shutdown() {
	select {
	case <-g.exited:
	default:
		if g.pid != 0 {
			g.run(20*time.Second, "systemctl", "poweroff", "--no-block")
		}
		select {
		case <-g.exited:
		case <-time.After(30 * time.Second):
			g.t.Log("the guest did not power off within 30 s; killing it")
			if g.pid != 0 {
				_ = syscall.Kill(g.pid, syscall.SIGKILL)
			}
			_ = g.unshare.Process.Kill()
			select {
			case <-g.exited:
			case <-time.After(10 * time.Second):
				g.t.Error("the guest survived SIGKILL")
			}
		}
	}
	removeCgroup(g.t, g.cgroup)
}

// removeCgroup removes a cgroup2 directory and the ones below it, deepest
// first; only empty cgroups can be removed, and these are once the guest's
// processes are gone.
func removeCgroup(t *testing.T, dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for try := 0; try < 50; try++ { // a cgroup empties shortly after its last process exits
			if err = os.Remove(dirs[i]); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("removing the guest's cgroup: %v", err)
		}
	}
}

// cgroup2Dir returns the directory of this process's cgroup in the cgroup2
// hierarchy, which is mounted at /sys/fs/cgroup on a unified host and at
// /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Dir() (string, error) {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	var mount string
	for _, line := range strings.Split(string(mountinfo), "\n") {
		_, after, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(after, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(line); len(f) > 4 {
			mount = f[4]
			break
		}
	}
	if mount == "" {
		return "", errors.New("no cgroup2 file system is mounted")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(self), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(mount, p), nil
		}
	}
	return "", errors.New("this process has no cgroup2 cgroup")
}

// childOf returns a child process of pid, or 0.
func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
		return 0
	}
	// Without CONFIG_PROC_CHILDREN, look for a process whose parent is pid.
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		// The command name may hold spaces; the fields after it do not.
		i := bytes.LastIndexByte(stat, ')')
		if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return n
		}
	}
	return 0
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
