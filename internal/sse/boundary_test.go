package sse

import (
	"bytes"
	"os"
	"testing"
)

func TestBoundary(t *testing.T) {
	tests := []struct {
		name string
		buf  string
		want int
	}{
		{"empty", "", 0},
		{"one byte", "x", 0},
		{"lone lf", "\n", 1},
		{"lone crlf", "\r\n", 2},
		{"lone cr", "\r", 1},
		{"lf left over from a torn crlf", "\ndata: a\n", 1},
		{"two blank lines", "\n\n", 2},
		{"partial field", "event: ping", 0},
		{"field line without blank line", "event: ping\ndata: {}\n", 0},
		{"one event", "event: ping\ndata: {}\n\n", 22},
		{"one event and a partial", "event: ping\ndata: {}\n\nevent: mess", 22},
		{"one event and a partial ending in a line end", "event: ping\ndata: {}\n\nevent: message_stop\n", 22},
		{"two events", "data: a\n\ndata: b\n\n", 18},
		{"two events and a partial", "data: a\n\ndata: b\n\ndata: c\n", 18},
		{"crlf event", "data: a\r\n\r\n", 11},
		{"crlf event and a partial", "data: a\r\n\r\ndata: b\r\n", 11},
		{"crlf torn before its last lf", "data: a\r\n\r", 10},
		{"crlf torn after one line", "data: a\r\n", 0},
		{"cr event", "data: a\r\r", 9},
		{"cr event and a partial", "data: a\r\rdata: b\r", 9},
		{"lf line then crlf blank line", "data: a\n\r\n", 10},
		{"crlf line then lf blank line", "data: a\r\n\n", 10},
		{"cr line then crlf blank line", "data: a\r\r\n", 10},
		{"escaped newlines inside json are not line ends", `data: {"text":"a\n\nb"}`, 0},
		{"blank lines at the very start", "\n\ndata: a\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Boundary([]byte(tt.buf))
			if got != tt.want {
				t.Errorf("Boundary(%q) = %d, want %d", tt.buf, got, tt.want)
			}
			if ref := referenceBoundary([]byte(tt.buf)); ref != tt.want {
				t.Errorf("referenceBoundary(%q) = %d, want %d: the reference is wrong", tt.buf, ref, tt.want)
			}
		})
	}
}

func TestBoundaryFindsEveryEventOfARealStream(t *testing.T) {
	stream := readStream(t, "tool-use.sse")
	events := bytes.SplitAfter(stream, []byte("\n\n"))
	end := 0
	for i, ev := range events[:len(events)-1] {
		end += len(ev)
		// Everything up to the middle of the next event ends after event i.
		next := min(end+len(events[i+1])/2, len(stream))
		if got := Boundary(stream[:next]); got != end {
			t.Fatalf("after event %d: Boundary = %d, want %d", i, got, end)
		}
	}
}

// referenceBoundary is Boundary written the obvious way, forwards over the
// lines as the SSE specification describes them: the end of the last empty
// line. b starts where an event starts, so its first line may be empty too.
func referenceBoundary(b []byte) int {
	last := 0
	lineEmpty := true
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case '\r', '\n':
			i++
			if c == '\r' && i < len(b) && b[i] == '\n' {
				i++
			}
			if lineEmpty {
				last = i
			}
			lineEmpty = true
		default:
			lineEmpty = false
			i++
		}
	}
	return last
}

func FuzzBoundary(f *testing.F) {
	f.Add([]byte("event: ping\ndata: {}\n\nevent: mess"))
	f.Add([]byte("data: a\r\n\r\ndata: b\r\n\r"))
	f.Add([]byte("data: a\r\rdata: b\n\r\n"))
	f.Add([]byte("\n\r\n\r\r\n\n"))
	f.Add(readStream(f, "tool-use.sse"))
	f.Fuzz(func(t *testing.T, buf []byte) {
		got := Boundary(buf)
		if want := referenceBoundary(buf); got != want {
			t.Fatalf("Boundary(%q) = %d, reference says %d", buf, got, want)
		}
		if got != 0 && !endsWithBlankLine(buf[:got]) {
			t.Fatalf("Boundary(%q) = %d, which does not end a blank line", buf, got)
		}
	})
}

func TestBoundaryDoesNotAllocate(t *testing.T) {
	buf := readStream(t, "tool-use.sse")
	buf = buf[:len(buf)-10]
	if n := testing.AllocsPerRun(100, func() { Boundary(buf) }); n != 0 {
		t.Errorf("Boundary allocates %v times per call, want 0", n)
	}
}

// BenchmarkBoundary measures the relay's per-chunk cost on the buffers it
// really holds: the partial event it kept plus a new 512-byte chunk, which
// mostly ends inside an event.
func BenchmarkBoundary(b *testing.B) {
	stream := readStream(b, "tool-use.sse")
	var views [][]byte
	var pending []byte
	for _, c := range chunks(stream, 512) {
		pending = append(pending, c...)
		views = append(views, pending)
		pending = bytes.Clone(pending[Boundary(pending):])
	}
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		for _, v := range views {
			Boundary(v)
		}
	}
}

func readStream(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
