package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a child the harness started: a proxy under test. It is
// stopped by its PID, never by name.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit, once done is closed
}

// start runs cmd as a child, with its output in logPath, and waits until
// addr accepts connections.
func start(ctx context.Context, name string, cmd *exec.Cmd, logPath, addr string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a ^C at the terminal reaches the harness
	// alone and the harness stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if err := waitListening(ctx, addr, p.done); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s did not start listening on %s (log: %s): %w", name, addr, logPath, err)
	}
	return p, nil
}

// waitListening polls addr until it accepts a connection, the process
// exits, or 10 s pass.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("timed out")
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// signal sends sig to the process by its PID.
func (p *process) signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// stop asks the process to quit with SIGTERM and kills it by PID if it has
// not gone after 15 s.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// procStat is what /proc says about one process, or a process and its
// children summed (nginx's master and workers).
type procStat struct {
	RSSKB      int64 // VmRSS
	Threads    int
	FDs        int
	Goroutines int // from qccd's /metrics; the soak fills it in
}

// stat reads pid's VmRSS and thread count from /proc/PID/status and counts
// its open file descriptors in /proc/PID/fd.
func stat(pid int) (procStat, error) {
	var s procStat
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSSKB, _ = strconv.ParseInt(f[0], 10, 64)
		case "Threads":
			s.Threads, _ = strconv.Atoi(f[0])
		}
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	return s, nil
}

// treeStat sums stat over pid and its direct children: nginx serves from
// worker processes its master forked.
func treeStat(pid int) (procStat, error) {
	total, err := stat(pid)
	if err != nil {
		return total, err
	}
	for _, child := range children(pid) {
		s, err := stat(child)
		if err != nil {
			continue // a worker may be replaced between the two reads
		}
		total.RSSKB += s.RSSKB
		total.Threads += s.Threads
		total.FDs += s.FDs
	}
	return total, nil
}

// children lists the PIDs whose parent is pid.
func children(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for f := range strings.FieldsSeq(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// cpuStat is the CPU a process tree has used and the times its threads
// were switched out, summed over every thread of pid and of its direct
// children. Differences of two readings around a load say what one request
// costs the proxy beyond its latency: a proxy that wakes more threads per
// request pays in switches and in the CPU that the client and the upstream,
// on the same cores, then lack.
type cpuStat struct {
	CPU      time.Duration // on-CPU time, from /proc/PID/task/TID/schedstat
	Switches int64         // voluntary and involuntary context switches
}

// treeCPU reads cpuStat for pid and its direct children. Threads that
// have exited are not counted; Go keeps its threads and nginx's workers
// have one each.
func treeCPU(pid int) (cpuStat, error) {
	var total cpuStat
	for i, p := range append([]int{pid}, children(pid)...) {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		if err != nil {
			if i == 0 {
				return total, err
			}
			continue
		}
		for _, t := range tasks {
			dir := fmt.Sprintf("/proc/%d/task/%s/", p, t.Name())
			if b, err := os.ReadFile(dir + "schedstat"); err == nil {
				if f := strings.Fields(string(b)); len(f) > 0 {
					ns, _ := strconv.ParseInt(f[0], 10, 64)
					total.CPU += time.Duration(ns)
				}
			}
			b, err := os.ReadFile(dir + "status")
			if err != nil {
				continue
			}
			for line := range strings.Lines(string(b)) {
				k, v, ok := strings.Cut(line, ":")
				if ok && strings.HasSuffix(k, "ctxt_switches") {
					n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					total.Switches += n
				}
			}
		}
	}
	return total, nil
}
