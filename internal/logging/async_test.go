package logging

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// recorder keeps every Write call apart, and can hold writes back.
type recorder struct {
	mu      sync.Mutex
	writes  []string
	entered chan struct{} // when not nil, each Write sends on it first
	gate    chan struct{} // when not nil, each Write then waits for a receive
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func TestAsyncWriterLosesNothingAndKeepsOrder(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			var rec recorder
			w := newAsyncWriter(&rec, stream, time.Millisecond)
			const writers, lines = 8, 2000
			var wg sync.WaitGroup
			for g := range writers {
				wg.Go(func() {
					for i := range lines {
						fmt.Fprintf(w, "g%d-%d\n", g, i)
					}
				})
			}
			wg.Wait()
			w.Close()

			joined := strings.Join(rec.all(), "")
			next := make([]int, writers)
			n := 0
			for line := range strings.Lines(joined) {
				var g, i int
				if _, err := fmt.Sscanf(line, "g%d-%d\n", &g, &i); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				if i != next[g] {
					t.Fatalf("writer %d: line %d came after %d", g, i, next[g]-1)
				}
				next[g]++
				n++
			}
			if n != writers*lines {
				t.Fatalf("%d lines written, want %d", n, writers*lines)
			}
			if !stream {
				// Every entry is a Write of its own: journald's datagrams.
				if got := len(rec.all()); got != writers*lines {
					t.Errorf("%d writes for %d entries", got, writers*lines)
				}
			}
		})
	}
}

func TestAsyncWriterBatchesWhileWriting(t *testing.T) {
	rec := recorder{entered: make(chan struct{}), gate: make(chan struct{})}
	w := newAsyncWriter(&rec, true, linger)
	defer w.Close()
	w.Write([]byte("first\n"))
	<-rec.entered
	// The goroutine is held in the write of "first"; what queues
	// meanwhile must leave in one write.
	for i := range 10 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	rec.entered = nil // read by the next Write only after the gate opens
	close(rec.gate)
	w.Flush()
	got := rec.all()
	if len(got) != 2 || got[0] != "first\n" || strings.Count(got[1], "\n") != 10 {
		t.Errorf("writes %q, want \"first\" alone, then the ten queued lines in one", got)
	}
}

func TestAsyncWriterWaitsForRoomInsteadOfDropping(t *testing.T) {
	rec := recorder{gate: make(chan struct{})}
	w := newAsyncWriter(&rec, true, linger)
	big := bytes.Repeat([]byte("x"), maxPending/4)
	big[len(big)-1] = '\n'
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for range 12 { // three times what may wait
			w.Write(big)
		}
	}()
	close(rec.gate) // let the destination take everything
	<-wrote
	w.Close()
	if got := len(strings.Join(rec.all(), "")); got != 12*len(big) {
		t.Errorf("%d bytes written, want %d", got, 12*len(big))
	}
}

func TestAsyncWriterFatalIsWrittenBeforeReturning(t *testing.T) {
	var rec recorder
	w := newAsyncWriter(&rec, true, linger)
	defer w.Close()
	w.WriteLevel(zerolog.FatalLevel, []byte("fatal\n"))
	if got := rec.all(); len(got) != 1 || got[0] != "fatal\n" {
		t.Errorf("after WriteLevel(fatal): %q written", got)
	}
}

func TestAsyncWriterAfterClose(t *testing.T) {
	var rec recorder
	w := newAsyncWriter(&rec, true, linger)
	w.Write([]byte("before\n"))
	w.Close()
	w.Close()
	w.Write([]byte("after\n"))
	w.Flush()
	if got := strings.Join(rec.all(), ""); got != "before\nafter\n" {
		t.Errorf("written %q", got)
	}
}

// TestAsyncWriterWakesOncePerBurst pins the cost of a burst: the lines of
// one linger go out in one write, not one write (and one thread woken)
// each, and Flush and Close do not wait the linger out.
func TestAsyncWriterWakesOncePerBurst(t *testing.T) {
	for _, end := range []string{"flush", "close"} {
		t.Run(end, func(t *testing.T) {
			var rec recorder
			w := newAsyncWriter(&rec, true, time.Hour)
			for i := range 100 {
				fmt.Fprintf(w, "line %d\n", i)
			}
			time.Sleep(20 * time.Millisecond)
			if got := rec.all(); len(got) != 0 {
				t.Fatalf("%d writes before the linger ended, want none", len(got))
			}
			if end == "flush" {
				w.Flush()
				defer w.Close()
			} else {
				w.Close()
			}
			if got := rec.all(); len(got) != 1 || strings.Count(got[0], "\n") != 100 {
				t.Errorf("%d writes, want the 100 lines in one", len(got))
			}
		})
	}
}
