package httpprobe

import (
	"io"
	"sync"
)

// Body buffers start small and grow only as a response needs, so 64
// concurrent checks of small responses cost kilobytes, not 64 × BodyCap.
// Buffers up to keepBuffer are reused across probes.
const (
	firstBuffer = 4 << 10
	keepBuffer  = 64 << 10
)

var buffers = sync.Pool{New: func() any {
	b := make([]byte, 0, firstBuffer)
	return &b
}}

// body is a response body read up to a cap.
type body struct {
	// data is the first bytes of the body, at most the cap.
	data []byte
	// total counts every byte of the body, kept or discarded.
	total int64
	// truncated reports that total exceeds len(data).
	truncated bool

	pooled *[]byte
}

// readBody reads r into a pooled buffer up to limit bytes, then discards
// and counts the rest. sizeHint is the Content-Length, or -1. The body
// returned must be released once its data is no longer used; the error is
// that of the read that failed, with the bytes read so far kept.
func readBody(r io.Reader, limit, sizeHint int64) (*body, error) {
	b := &body{pooled: buffers.Get().(*[]byte)}
	buf := (*b.pooled)[:0]
	if sizeHint > int64(cap(buf)) {
		buf = make([]byte, 0, min(sizeHint, limit)) // what the server announced, up to the cap
	}
	var err error
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			// Full: see whether anything follows before doubling the buffer,
			// so a body that fits exactly never grows it.
			var probe [512]byte
			var n int
			n, err = io.ReadFull(r, probe[:min(int64(len(probe)), limit-int64(len(buf)))])
			if n > 0 {
				buf = append(grow(buf, limit), probe[:n]...)
			}
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			if err != nil {
				break
			}
			continue
		}
		var n int
		n, err = r.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	b.data = buf
	b.total = int64(len(buf))
	if err == nil {
		// At the cap: the rest is counted, not kept.
		var n int64
		n, err = io.Copy(io.Discard, r)
		b.total += n
		b.truncated = n > 0
	}
	if err == io.EOF {
		err = nil
	}
	return b, err
}

// grow doubles buf's capacity, up to limit. (append grows large slices by
// a quarter at a time, which allocates five times the final size.)
func grow(buf []byte, limit int64) []byte {
	c := min(int64(max(2*cap(buf), firstBuffer)), limit)
	nb := make([]byte, len(buf), c)
	copy(nb, buf)
	return nb
}

// release returns the buffer for reuse unless it grew too large to keep.
func (b *body) release() {
	if b == nil || b.pooled == nil {
		return
	}
	if cap(b.data) <= keepBuffer && cap(b.data) >= cap(*b.pooled) {
		*b.pooled = b.data[:0]
	}
	buffers.Put(b.pooled)
	b.pooled, b.data = nil, nil
}
