package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the server's end of it.
func pair(t testing.TB) (*Conn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	c, ok := Wrap(nc).(*Conn)
	if !ok {
		t.Fatalf("Wrap(%T) did not wrap it", nc)
	}
	t.Cleanup(func() {
		c.Close()
		peer.Close()
	})
	return c, peer.(*net.TCPConn)
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := Wrap(a); got != a {
		t.Errorf("Wrap(net.Pipe()) = %T, want the pipe itself", got)
	}
}

func TestReadWriteAndEOF(t *testing.T) {
	c, peer := pair(t)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("peer read %q, %v", buf, err)
	}
	go func() {
		peer.Write([]byte("pong"))
		peer.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "pong" {
		t.Fatalf("ReadAll = %q, %v; want pong and EOF", got, err)
	}
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("Read after EOF = %d, %v", n, err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v; want 0, nil as net's", n, err)
	}
}

func TestDeadlineAndClose(t *testing.T) {
	c, _ := pair(t)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past the deadline: %v, want a net.Error timeout", err)
	}
	if oe, ok := err.(*net.OpError); !ok || oe.Op != "read" {
		t.Errorf("Read past the deadline: %#v, want a *net.OpError named read, as net's", err)
	}
	c.SetReadDeadline(time.Time{})

	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it park; the test holds either way
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read blocked when closed: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
}

func TestResetIsAnOpError(t *testing.T) {
	c, peer := pair(t)
	peer.SetLinger(0)
	peer.Close() // RST
	time.Sleep(10 * time.Millisecond)
	_, err := c.Read(make([]byte, 1))
	var oe *net.OpError
	if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &oe) || oe.Op != "read" {
		t.Errorf("Read after a reset: %#v, want a read *net.OpError with ECONNRESET", err)
	}
}

// TestLargeWritesArriveWhole makes the kernel take writes in parts: the
// peer reads slowly, so Write and WriteBuffers meet EAGAIN and short
// writes, park, and resume where they were.
func TestLargeWritesArriveWhole(t *testing.T) {
	c, peer := pair(t)
	want := make([]byte, 0, 24<<20)
	var bufs net.Buffers
	for i := range 40 { // more than one writev takes, and some empty
		b := bytes.Repeat([]byte{byte('a' + i%26)}, (i%4)*(256<<10))
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	single := bytes.Repeat([]byte("0123456789"), 1<<20)
	want = append(want, single...)

	got := make(chan []byte, 1)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 64<<10)
		for {
			time.Sleep(100 * time.Microsecond)
			n, err := peer.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				got <- out.Bytes()
				return
			}
		}
	}()
	n, err := c.WriteBuffers(&bufs)
	if err != nil || int(n) != len(want)-len(single) || len(bufs) != 0 {
		t.Fatalf("WriteBuffers = %d, %v, %d buffers left", n, err, len(bufs))
	}
	if m, err := c.Write(single); err != nil || m != len(single) {
		t.Fatalf("Write = %d, %v", m, err)
	}
	c.CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("peer got %d bytes, want %d, equal: %v", len(b), len(want), bytes.Equal(b, want))
	}
}

func TestQuiet(t *testing.T) {
	c, peer := pair(t)
	if !c.Quiet() {
		t.Fatal("an idle connection is not quiet")
	}
	peer.Write([]byte("x"))
	time.Sleep(10 * time.Millisecond)
	if c.Quiet() {
		t.Error("quiet with a byte to read")
	}
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("the peeked byte was consumed: %q, %v", b, err)
	}
	peer.Close()
	time.Sleep(10 * time.Millisecond)
	if c.Quiet() {
		t.Error("quiet after the peer closed")
	}
}

func TestReadAndWriteDoNotAllocate(t *testing.T) {
	if !raw {
		t.Skip("the race build's calls allocate")
	}
	c, peer := pair(t)
	msg, buf, two := []byte("ping"), make([]byte, 4), make([]byte, 8)
	bufs := net.Buffers{msg, msg}
	got := testing.AllocsPerRun(200, func() {
		c.Write(msg)
		io.ReadFull(peer, buf)
		peer.Write(msg)
		c.Read(buf)
		b := bufs
		c.WriteBuffers(&b)
		io.ReadFull(peer, two)
	})
	if got > 0 {
		t.Errorf("%.1f allocations per round trip, want 0", got)
	}
}

// TestConcurrentWritesStayWhole holds Conn to net.Conn's promise that
// goroutines may write at once, each Write leaving whole.
func TestConcurrentWritesStayWhole(t *testing.T) {
	c, peer := pair(t)
	const writers, writes, size = 8, 50, 4096
	done := make(chan struct{})
	for g := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			msg := bytes.Repeat([]byte{byte('a' + g)}, size)
			for i := range writes {
				if i%2 == 0 {
					c.Write(msg)
				} else {
					c.WriteBuffers(&net.Buffers{msg[:size/2], msg[size/2:]})
				}
			}
		}()
	}
	got := make([]byte, writers*writes*size)
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	for range writers {
		<-done
	}
	for i := 0; i < len(got); i += size {
		if block := got[i : i+size]; !bytes.Equal(block, bytes.Repeat(block[:1], size)) {
			t.Fatalf("bytes %d-%d mix writers", i, i+size)
		}
	}
}
