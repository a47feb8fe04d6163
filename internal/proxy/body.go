package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// errBodyTooLarge is returned when a request body passes max_body_bytes.
var errBodyTooLarge = errors.New("request body too large")

// bufClasses are the capacities bodyPool hands out. A buffer gets the
// smallest class that fits, so a 1 KB request does not hold 32 KB while its
// stream lasts, and one pool per class means a pooled buffer always fits
// the request that takes it: a mixed pool would hand a 256 KB response
// capture a 4 KB buffer, drop it and allocate (and zero) a new one.
var bufClasses = [...]int{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

// bodyPool recycles request-body, relay and capture buffers. Bodies are
// buffered whole so a failed attempt can be replayed on the next endpoint;
// pooling makes that cost one copy and no allocation in the steady state.
// Buffers far above the largest class are not kept: a rare huge request
// must not pin its memory in the pool.
type bodyPool struct{ classes [len(bufClasses)]sync.Pool }

// get returns an empty buffer with room for at least size bytes.
func (bp *bodyPool) get(size int) *[]byte {
	for i, c := range bufClasses {
		if size <= c {
			if v, ok := bp.classes[i].Get().(*[]byte); ok {
				*v = (*v)[:0]
				return v
			}
			b := make([]byte, 0, c)
			return &b
		}
	}
	b := make([]byte, 0, size)
	return &b
}

// put returns b to the pool of the largest class it holds, for a buffer
// may have grown past the class it was taken from.
func (bp *bodyPool) put(b *[]byte) {
	if b == nil || cap(*b) > 2*bufClasses[len(bufClasses)-1] {
		return
	}
	for i := len(bufClasses) - 1; i >= 0; i-- {
		if cap(*b) >= bufClasses[i] {
			bp.classes[i].Put(b)
			return
		}
	}
}

// readBody buffers the request body, up to limit bytes.
func (bp *bodyPool) readBody(r *http.Request, limit int64) (*[]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	size := 0
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1 so reading EOF needs no growth
	}
	buf := bp.get(size)
	b := *buf
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			*buf = b
			bp.put(buf)
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			*buf = b
			return buf, nil
		}
		if err != nil {
			*buf = b
			bp.put(buf)
			return nil, err
		}
	}
}
