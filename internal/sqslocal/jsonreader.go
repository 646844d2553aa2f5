package sqslocal

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader decodes request bodies. It is a strict, allocation-lean JSON
// parser for the fixed request shapes: callers walk objects and arrays and
// read typed values; anything malformed, of the wrong type, or trailing
// the document is a SerializationException. Keys are case-sensitive, as
// AWS's are; unknown members are skipped; null is the absence of a value.
type jsonReader struct {
	b   []byte
	i   int
	err *apiError
}

const maxJSONDepth = 64

func (r *jsonReader) fail(what string) {
	if r.err == nil {
		r.err = kindSerialization.new("Malformed request body at offset %d: %s.", r.i, what)
	}
	r.i = len(r.b)
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// null consumes a null literal if one is next.
func (r *jsonReader) null() bool {
	if r.peek() != 'n' {
		return false
	}
	r.literal("null")
	return true
}

func (r *jsonReader) literal(lit string) {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		r.fail("invalid literal")
		return
	}
	r.i += len(lit)
}

// document decodes a whole body as one object.
func (r *jsonReader) document(field func(key []byte)) *apiError {
	if r.end() {
		return nil // an empty body is {}
	}
	if r.peek() != '{' {
		r.fail("the body must be a JSON object")
		return r.err
	}
	r.object(field)
	if !r.end() && r.err == nil {
		r.fail("unexpected data after the object")
	}
	return r.err
}

// end reports whether only white space is left (peek's 0 may also be a
// NUL byte).
func (r *jsonReader) end() bool {
	r.ws()
	return r.i >= len(r.b)
}

// object walks an object (or null), calling field with each key; field must
// consume the value.
func (r *jsonReader) object(field func(key []byte)) {
	if r.null() {
		return
	}
	if r.peek() != '{' {
		r.fail("expected an object")
		return
	}
	r.i++
	if r.peek() == '}' {
		r.i++
		return
	}
	for r.err == nil {
		if r.peek() != '"' {
			r.fail("expected a member name")
			return
		}
		key := r.rawString()
		if r.peek() != ':' {
			r.fail("expected ':'")
			return
		}
		r.i++
		field(key)
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return
		default:
			r.fail("expected ',' or '}'")
		}
	}
}

// array walks an array (or null), calling elem for each element; elem must
// consume it.
func (r *jsonReader) array(elem func()) {
	if r.null() {
		return
	}
	if r.peek() != '[' {
		r.fail("expected an array")
		return
	}
	r.i++
	if r.peek() == ']' {
		r.i++
		return
	}
	for r.err == nil {
		elem()
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return
		default:
			r.fail("expected ',' or ']'")
		}
	}
}

// str reads a string; ok is false for null.
func (r *jsonReader) str() (s string, ok bool) {
	if r.null() {
		return "", false
	}
	if r.peek() != '"' {
		r.fail("expected a string")
		return "", false
	}
	return string(r.rawString()), r.err == nil
}

func (r *jsonReader) strPtr() *string {
	s, ok := r.str()
	if !ok {
		return nil
	}
	return &s
}

// rawString reads a string token and returns its unescaped bytes, which
// alias the body when the string has no escapes. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func (r *jsonReader) rawString() []byte {
	r.i++ // opening quote
	start := r.i
	ascii := true
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(s) {
				return []byte(string([]rune(string(s))))
			}
			return s
		case c == '\\':
			return r.escapedString(start)
		case c < 0x20:
			r.fail("control character in a string")
			return nil
		case c >= utf8.RuneSelf:
			ascii = false
		}
		r.i++
	}
	r.fail("unterminated string")
	return nil
}

func (r *jsonReader) escapedString(start int) []byte {
	// Unescaped, the string is at most as long as it is up to its closing
	// quote: one allocation, and runs of plain bytes copied at once.
	out := make([]byte, 0, r.closingQuote()-start)
	out = append(out, r.b[start:r.i]...)
	for r.i < len(r.b) {
		if run := plainRun(r.b[r.i:]); run > 0 {
			out = append(out, r.b[r.i:r.i+run]...)
			r.i += run
			continue
		}
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(out) {
				return []byte(string([]rune(string(out))))
			}
			return out
		case c < 0x20:
			r.fail("control character in a string")
			return nil
		}
		if r.i+1 >= len(r.b) {
			break
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c1, ok := r.hex4()
			if !ok {
				return nil
			}
			if utf16.IsSurrogate(c1) {
				// A pair decodes to one rune; a lone surrogate is U+FFFD.
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					c2, ok := r.hex4()
					if !ok {
						return nil
					}
					if dec := utf16.DecodeRune(c1, c2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						continue
					}
					r.i = save
				}
				c1 = utf8.RuneError
			}
			out = utf8.AppendRune(out, c1)
		default:
			r.fail("invalid escape")
			return nil
		}
	}
	r.fail("unterminated string")
	return nil
}

// closingQuote returns the offset of the quote that ends the string r.i
// is in (the first not escaped), or len(r.b).
func (r *jsonReader) closingQuote() int {
	for end := r.i; ; end++ {
		k := bytes.IndexByte(r.b[end:], '"')
		if k < 0 {
			return len(r.b)
		}
		end += k
		escapes := 0
		for p := end - 1; p >= r.i && r.b[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			return end
		}
	}
}

// plainRun returns how many bytes at the start of b go into a string as
// they are: neither '"', '\\' nor a control character. It looks at eight
// bytes at once while none of them is one of those.
func plainRun(b []byte) int {
	i := 0
	for i+8 <= len(b) && !needsEscape(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

func (r *jsonReader) hex4() (rune, bool) {
	if len(r.b)-r.i < 4 {
		r.fail("short \\u escape")
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 32)
	if err != nil {
		r.fail("invalid \\u escape")
		return 0, false
	}
	r.i += 4
	return rune(v), true
}

// int reads an integer; ok is false for null. A number with a fraction or
// exponent, or beyond int64, is a type error as it is for AWS.
func (r *jsonReader) int() (v int64, ok bool) {
	if r.null() {
		return 0, false
	}
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	digits := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	if r.i == digits || (r.b[digits] == '0' && r.i-digits > 1) {
		r.fail("expected an integer")
		return 0, false
	}
	if r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.fail("expected an integer, not a fraction")
		return 0, false
	}
	n, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		r.fail("integer out of range")
		return 0, false
	}
	return n, true
}

func (r *jsonReader) intPtr() *int64 {
	v, ok := r.int()
	if !ok {
		return nil
	}
	return &v
}

// blob reads a base64 string, as the SDK encodes blobs.
func (r *jsonReader) blob() []byte {
	if r.null() {
		return nil
	}
	if r.peek() != '"' {
		r.fail("expected a base64 string")
		return nil
	}
	raw := r.rawString()
	out := make([]byte, b64.DecodedLen(len(raw)))
	n, err := b64.Decode(out, raw)
	if err != nil {
		r.fail("invalid base64")
		return nil
	}
	return out[:n]
}

func (r *jsonReader) strList() []string {
	var out []string
	r.array(func() {
		s, ok := r.str()
		if !ok && r.err == nil {
			r.fail("null in a list of strings")
		}
		out = append(out, s)
	})
	return out
}

func (r *jsonReader) strMap() map[string]string {
	var out map[string]string
	r.object(func(key []byte) {
		s, ok := r.str()
		if !ok {
			return
		}
		if out == nil {
			out = map[string]string{}
		}
		out[string(key)] = s
	})
	return out
}

// skip consumes any value.
func (r *jsonReader) skip() { r.skipDepth(0) }

func (r *jsonReader) skipDepth(depth int) {
	if depth > maxJSONDepth {
		r.fail("nested too deeply")
		return
	}
	switch c := r.peek(); {
	case c == '{':
		r.object(func([]byte) { r.skipDepth(depth + 1) })
	case c == '[':
		r.array(func() { r.skipDepth(depth + 1) })
	case c == '"':
		r.rawString()
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		r.number()
	default:
		r.fail("expected a value")
	}
}

// number consumes a JSON number of any form.
func (r *jsonReader) number() {
	if r.b[r.i] == '-' {
		r.i++
	}
	digits := func() int {
		n := 0
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	intStart := r.i
	if n := digits(); n == 0 || (n > 1 && r.b[intStart] == '0') {
		r.fail("invalid number")
		return
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			r.fail("invalid number")
			return
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			r.fail("invalid number")
			return
		}
	}
}
