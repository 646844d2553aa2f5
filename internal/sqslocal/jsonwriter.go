package sqslocal

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"sync"
	"unicode/utf8"
)

// jsonWriter appends a JSON document to a byte slice. Response shapes are
// fixed and small, so writing them by hand keeps reflection and per-field
// allocations off the hot path.
type jsonWriter struct {
	b        []byte
	comma    []bool // per nesting level: an element was written, the next needs ','
	afterKey bool
}

var jsonWriterPool = sync.Pool{New: func() any { return &jsonWriter{b: make([]byte, 0, 4096)} }}

func getJSONWriter() *jsonWriter {
	w := jsonWriterPool.Get().(*jsonWriter)
	w.b = w.b[:0]
	w.comma = w.comma[:0]
	w.afterKey = false
	return w
}

func putJSONWriter(w *jsonWriter) {
	if cap(w.b) > 1<<20 {
		return // do not keep huge buffers alive
	}
	jsonWriterPool.Put(w)
}

func (w *jsonWriter) beginValue() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if n := len(w.comma); n > 0 {
		if w.comma[n-1] {
			w.b = append(w.b, ',')
		}
		w.comma[n-1] = true
	}
}

func (w *jsonWriter) openObject() {
	w.beginValue()
	w.b = append(w.b, '{')
	w.comma = append(w.comma, false)
}

func (w *jsonWriter) closeObject() {
	w.b = append(w.b, '}')
	w.comma = w.comma[:len(w.comma)-1]
}

func (w *jsonWriter) openArray() {
	w.beginValue()
	w.b = append(w.b, '[')
	w.comma = append(w.comma, false)
}

func (w *jsonWriter) closeArray() {
	w.b = append(w.b, ']')
	w.comma = w.comma[:len(w.comma)-1]
}

func (w *jsonWriter) key(k string) {
	w.beginValue()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
	w.afterKey = true
}

func (w *jsonWriter) str(v string) {
	w.beginValue()
	w.b = appendJSONString(w.b, v)
}

func (w *jsonWriter) boolean(v bool) {
	w.beginValue()
	w.b = strconv.AppendBool(w.b, v)
}

// field writes "k":"v".
func (w *jsonWriter) field(k, v string) {
	w.key(k)
	w.str(v)
}

// blob writes v as a base64 string, as the SDK expects blobs.
func (w *jsonWriter) blob(v []byte) {
	w.beginValue()
	w.b = append(w.b, '"')
	w.b = b64.AppendEncode(w.b, v)
	w.b = append(w.b, '"')
}

var b64 = base64.StdEncoding

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted for JSON. Invalid UTF-8 becomes U+FFFD so
// the document is always valid, whatever bytes reached an error message.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	if !utf8.ValidString(s) {
		return appendInvalidUTF8(b, s)
	}
	// Message bodies dominate: skip 8 bytes at a time while none of them
	// needs escaping (a control character, '"' or '\\'). The compiler
	// neither copies nor allocates for the []byte of the 8 bytes.
	start, i := 0, 0
	for {
		for i+8 <= len(s) && !needsEscape(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		for i < len(s) && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' {
			i++
			if i&7 == 0 {
				break
			}
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// needsEscape reports whether any byte of w is below 0x20, '"' or '\\'.
func needsEscape(w uint64) bool {
	less := (w - swarLo*0x20) &^ w
	quote := w ^ (swarLo * '"')
	slash := w ^ (swarLo * '\\')
	return (less|((quote-swarLo)&^quote)|((slash-swarLo)&^slash))&swarHi != 0
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

func appendInvalidUTF8(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
