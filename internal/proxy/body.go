package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// errBodyTooLarge is returned when a request body passes max_body_bytes.
var errBodyTooLarge = errors.New("request body too large")

// maxPooledBody is the largest buffer kept for reuse; a rare huge request
// must not pin its memory in the pool forever.
const maxPooledBody = 1 << 20

// bodyPool recycles request-body buffers. Bodies are buffered whole so a
// failed attempt can be replayed on the next endpoint; pooling makes that
// cost one copy and no allocation in the steady state.
type bodyPool struct{ p sync.Pool }

func (bp *bodyPool) get(size int) *[]byte {
	if v, ok := bp.p.Get().(*[]byte); ok && cap(*v) >= size {
		*v = (*v)[:0]
		return v
	} else if ok {
		bp.p.Put(v)
	}
	b := make([]byte, 0, max(size, 32<<10))
	return &b
}

func (bp *bodyPool) put(b *[]byte) {
	if b != nil && cap(*b) <= maxPooledBody {
		bp.p.Put(b)
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
