package message

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for errors.Is. Each is matched by one typed error below, which
// carries the details.
var (
	// ErrUnsupportedVersion: a well-formed message of a version this build
	// does not know, most likely newer. Return it to the queue (do not
	// delete it) so a newer consumer can take it.
	ErrUnsupportedVersion = errors.New("unsupported message version")
	// ErrMalformed: a message no consumer of any version can use. Send it to
	// the dead-letter queue.
	ErrMalformed = errors.New("malformed message")
	// ErrUnrepresentable: the chosen version cannot carry this job.
	ErrUnrepresentable = errors.New("message version cannot carry this job")
	// ErrTooLarge: the encoded message exceeds the SQS size limit.
	ErrTooLarge = errors.New("message too large for SQS")
)

// UnsupportedVersionError reports a message whose schema id is well formed
// but names a version this build does not support (checkfleet.job/v3).
type UnsupportedVersionError struct {
	// Schema is the schema id of the message.
	Schema string
}

// Error names the schema and the versions this build reads.
func (e *UnsupportedVersionError) Error() string {
	kind, _, err := ParseSchema(e.Schema)
	if err != nil {
		return fmt.Sprintf("unsupported message schema %q", e.Schema)
	}
	ids := make([]string, 0, 2)
	for _, v := range Supported(kind) {
		ids = append(ids, SchemaID(kind, v))
	}
	return fmt.Sprintf("unsupported message schema %q (this build reads %s)", e.Schema, strings.Join(ids, ", "))
}

// Is matches ErrUnsupportedVersion.
func (e *UnsupportedVersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// MalformedError reports a message that cannot be decoded: not JSON, no or
// an unparsable schema id, the wrong kind, a missing field, a wrong type, a
// bad value. Path and Offset say where.
type MalformedError struct {
	// Schema is the message's schema id, if it got that far.
	Schema string
	// Path is the JSON path of the offending field: "check.api.url",
	// "browser.steps[2].duration_ms". Empty for the message as a whole.
	Path string
	// Offset is the byte offset of a JSON syntax error, -1 otherwise.
	Offset int64
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any (e.g. a *json.SyntaxError).
	Err error
}

// Error renders "malformed checkfleet.job/v2 message: check.api.url: is
// required" or "malformed message: invalid JSON at byte 17: ...".
func (e *MalformedError) Error() string {
	var b strings.Builder
	b.WriteString("malformed ")
	if e.Schema != "" {
		b.WriteString(e.Schema + " ")
	}
	b.WriteString("message: ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "at byte %d: ", e.Offset)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Is matches ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Unwrap returns the underlying error.
func (e *MalformedError) Unwrap() error { return e.Err }

// UnrepresentableError reports a job that the chosen (older) version has no
// field for. The scheduler prints it when told to send an old version.
type UnrepresentableError struct {
	// Schema is the schema id that was asked for.
	Schema string
	// Field is the in-memory field that cannot be carried: "check.browser",
	// "check.api.headers", "check.assertions[1]".
	Field string
	// Reason says what the version can carry instead.
	Reason string
}

// Error renders "checkfleet.job/v1 cannot carry check.api.headers: ...".
func (e *UnrepresentableError) Error() string {
	return fmt.Sprintf("%s cannot carry %s: %s", e.Schema, e.Field, e.Reason)
}

// Is matches ErrUnrepresentable.
func (e *UnrepresentableError) Is(target error) bool { return target == ErrUnrepresentable }

// TooLargeError reports an encoded message over MaxBodyBytes. For a result,
// drop the screenshot and encode again.
type TooLargeError struct {
	// Schema is the schema id of the message.
	Schema string
	// Size is the encoded body size in bytes.
	Size int
	// Limit is MaxBodyBytes(Schema).
	Limit int
}

// Error names the sizes.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s message is %d bytes, over the SQS limit of %d", e.Schema, e.Size, e.Limit)
}

// Is matches ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }
