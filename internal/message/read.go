package message

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Decoding reads the body into a generic tree (numbers as json.Number) and
// walks it with the helpers below, rather than json.Unmarshal into the wire
// structs, so that it can be as strict as the JSON Schemas: keys match
// exactly (encoding/json would also accept "Run_ID"), a missing required
// field is told apart from a zero value, null is never a value, and every
// error carries the JSON path of its field. Unknown keys are ignored.

// maxMillis is the largest millisecond count a time.Duration holds.
const maxMillis = math.MaxInt64 / int64(time.Millisecond)

// timeLayout writes RFC 3339 in UTC with all nine fraction digits, so that
// timestamps sort as strings and golden files do not jitter.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// envelope is a parsed message: its top-level object and its schema.
type envelope struct {
	schema  string
	kind    Kind
	version Version
	root    object
}

// open parses body, reads its schema id and checks it is of kind want and
// supported. Errors are *MalformedError or *UnsupportedVersionError.
func open(body []byte, want Kind) (envelope, error) {
	env, err := parse(body)
	if err != nil {
		return env, err
	}
	return env, env.is(want)
}

// is checks env is of kind want and of a supported version.
func (env envelope) is(want Kind) error {
	if env.kind != want {
		return &MalformedError{Schema: env.schema, Path: "schema", Offset: -1,
			Reason: fmt.Sprintf("is a %s schema, want checkfleet.%s/vN", env.kind, want)}
	}
	if !IsSupported(env.kind, env.version) {
		return &UnsupportedVersionError{Schema: env.schema}
	}
	return nil
}

// openMessage is open for a message as SQS delivers it, with attr its
// SchemaAttribute (see CheckAttribute): the body is parsed once.
func openMessage(attr string, body []byte, want Kind) (envelope, error) {
	env, err := parse(body)
	if err != nil {
		return env, err
	}
	if err := env.matches(attr); err != nil {
		return env, err
	}
	return env, env.is(want)
}

// matches checks the SQS message attribute SchemaAttribute against the
// body's schema: a missing one is accepted, another one is malformed.
func (env envelope) matches(attr string) error {
	switch attr {
	case env.schema, "":
		return nil
	}
	return &MalformedError{Schema: env.schema, Offset: -1,
		Reason: fmt.Sprintf("SQS message attribute %s=%q does not match the body's schema %q", SchemaAttribute, attr, env.schema)}
}

// parse checks body is one JSON object and reads its schema id, of any kind
// and version.
func parse(body []byte) (envelope, error) {
	// A first pass validates the whole input (one JSON value, nothing
	// after it) without allocating; only an invalid one is parsed again
	// for its error, with the byte offset a json.Decoder would not give
	// (it reports a truncated body as a bare io.ErrUnexpectedEOF).
	if !json.Valid(body) {
		var raw json.RawMessage
		err := json.Unmarshal(body, &raw)
		if err == nil {
			err = errors.New("not a single JSON value")
		}
		merr := &MalformedError{Offset: -1, Reason: "invalid JSON: " + err.Error(), Err: err}
		if serr, ok := errors.AsType[*json.SyntaxError](err); ok {
			merr.Offset = serr.Offset
		}
		return envelope{}, merr
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return envelope{}, &MalformedError{Offset: -1, Reason: "invalid JSON: " + err.Error(), Err: err}
	}
	r := &reader{}
	root, ok := r.object(tree, "")
	if !ok {
		return envelope{}, r.err
	}
	schema := root.str("schema", true)
	if r.err != nil {
		return envelope{}, r.err
	}
	kind, version, err := ParseSchema(schema)
	if err != nil {
		return envelope{}, err
	}
	r.schema = schema
	return envelope{schema: schema, kind: kind, version: version, root: root}, nil
}

// reader keeps the first error met while walking a tree; after it, every
// helper returns zero values, so decoders read straight through and check
// r.err once at the end.
type reader struct {
	schema string
	err    *MalformedError
}

func (r *reader) failf(path, format string, args ...any) {
	if r.err == nil {
		r.err = &MalformedError{Schema: r.schema, Path: path, Offset: -1, Reason: fmt.Sprintf(format, args...)}
	}
}

// object asserts v is a JSON object.
func (r *reader) object(v any, path string) (object, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		r.typeError(path, "an object", v)
		return object{}, false
	}
	return object{r: r, path: path, m: m}, true
}

// text asserts v is a JSON string.
func (r *reader) text(v any, path string) string {
	s, ok := v.(string)
	if !ok {
		r.typeError(path, "a string", v)
	}
	return s
}

func (r *reader) typeError(path, want string, got any) {
	what := "the message"
	if path != "" {
		what = "the value"
	}
	r.failf(path, "%s must be %s, got %s", what, want, jsonType(got))
}

// object is one JSON object being read, with its path from the root.
type object struct {
	r    *reader
	path string
	m    map[string]any
}

// at is the path of key in o.
func (o object) at(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// get returns the value of key, failing if it is required and absent.
func (o object) get(key string, required bool) (any, bool) {
	v, ok := o.m[key]
	if !ok && required {
		o.r.failf(o.at(key), "is required")
	}
	return v, ok
}

func (o object) str(key string, required bool) string {
	v, ok := o.get(key, required)
	if !ok {
		return ""
	}
	return o.r.text(v, o.at(key))
}

func (o object) boolean(key string, required bool) bool {
	v, ok := o.get(key, required)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		o.r.typeError(o.at(key), "true or false", v)
	}
	return b
}

// integer reads a whole number in [min, max]. Like JSON Schema's "integer"
// it accepts 5.0 and 5e2.
func (o object) integer(key string, required bool, min, max int64) int64 {
	v, ok := o.get(key, required)
	if !ok {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		o.r.typeError(o.at(key), "an integer", v)
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(n.String(), 64)
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			o.r.failf(o.at(key), "must be an integer from %d to %d, got %s", min, max, n)
			return 0
		}
		i = int64(f)
	}
	if i < min || i > max {
		o.r.failf(o.at(key), "must be an integer from %d to %d, got %s", min, max, n)
		return 0
	}
	return i
}

// millis reads a duration in whole milliseconds, at least min.
func (o object) millis(key string, required bool, min int64) time.Duration {
	return time.Duration(o.integer(key, required, min, maxMillis)) * time.Millisecond
}

// time reads an RFC 3339 timestamp and returns it in UTC.
func (o object) time(key string, required bool) time.Time {
	s := o.str(key, required)
	if s == "" {
		if _, present := o.m[key]; present {
			o.r.failf(o.at(key), "must be an RFC 3339 timestamp, got \"\"")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.r.failf(o.at(key), "must be an RFC 3339 timestamp, got %q", s)
		return time.Time{}
	}
	if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
		o.r.failf(o.at(key), "year out of range in %q", s)
		return time.Time{}
	}
	return t
}

// base64 reads standard base64 (RFC 4648 §4, with padding).
func (o object) base64(key string) []byte {
	s := o.str(key, false)
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		o.r.failf(o.at(key), "must be standard base64: %v", err)
		return nil
	}
	return b
}

// object reads a nested object; ok is false if it is absent or wrong.
func (o object) object(key string, required bool) (object, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return object{}, false
	}
	return o.r.object(v, o.at(key))
}

// array reads an array and calls each for every element with its path.
func (o object) array(key string, each func(v any, path string)) {
	v, ok := o.get(key, false)
	if !ok {
		return
	}
	items, ok := v.([]any)
	if !ok {
		o.r.typeError(o.at(key), "an array", v)
		return
	}
	for i, item := range items {
		if o.r.err != nil {
			return
		}
		each(item, fmt.Sprintf("%s[%d]", o.at(key), i))
	}
}

// objects reads an array of objects.
func (o object) objects(key string, each func(object)) {
	o.array(key, func(v any, path string) {
		if obj, ok := o.r.object(v, path); ok {
			each(obj)
		}
	})
}

// jsonType names the JSON type of a decoded value, for error messages.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number (" + v.String() + ")"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// formatTime writes t for the wire; see timeLayout.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// formatOptionalTime writes t, or nothing for the zero time.
func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// millisOf rounds d to whole milliseconds for the wire.
func millisOf(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }
