// Package message defines checkfleet's wire contracts: the JSON bodies of
// job and result messages on SQS, one Go struct per schema version, with
// EncodeJob/DecodeJob and EncodeResult/DecodeResult translating between
// them and the in-memory Job and check.Result.
//
// # Schemas
//
// Every message is a JSON object whose "schema" field names its kind and
// version, "checkfleet.job/v2"; producers also set it as the SQS message
// attribute SchemaAttribute so a consumer can route a message without
// reading it (CheckAttribute checks that the two agree). The supported
// versions are checkfleet.job/v1 (legacy: one api check with an expected
// status), checkfleet.job/v2 (a full api or browser check),
// checkfleet.result/v1 (legacy: ok, status code, duration) and
// checkfleet.result/v2 (status, timings, assertions, browser steps, worker).
// Each is published as a JSON Schema, draft 2020-12, in Schemas(); the tests
// hold the code to them.
//
// Wire conventions: snake_case keys; times are RFC 3339 strings, written in
// UTC with nine fraction digits (any offset is read); durations are whole
// milliseconds in integer fields ending in "_ms" (or inside "timings_ms");
// bytes are standard padded base64; optional fields are omitted rather than
// null, and null is never accepted; empty arrays are omitted.
//
// # Text a target chose
//
// A result records text from outside: headers, titles, console lines, body
// excerpts. SQS accepts only some characters in a message (Sendable), so
// EncodeResult and DecodeResult pass every string of a result through
// MakeSendable (what SQS refuses becomes U+FFFD) and leave out a status
// code outside 100-999, noting each change in Result.Altered ("altered" in
// checkfleet.result/v2). Nothing a target sends can make a result
// unsendable; a result that still fails to encode or send is answered with
// ErrorResult, so the run is recorded once.
//
// # Decoding
//
// A decoder accepts every supported version and ignores fields it does not
// know. It returns:
//
//   - *UnsupportedVersionError (errors.Is ErrUnsupportedVersion) for a well-
//     formed schema id of a version this build does not know. The consumer
//     must not delete the message: it returns it to the queue (visibility 0)
//     so a newer consumer takes it.
//   - *MalformedError (errors.Is ErrMalformed) for everything no consumer of
//     any version could use: not JSON (with the byte offset), no or an
//     unparsable schema id, a result where a job belongs, a missing field, a
//     wrong type, an unknown enum value, a bad timestamp, a check that fails
//     check.Validate (with the JSON path: "check.api.url"). The consumer
//     sends it to the dead-letter queue.
//
// A decoder rejects everything the version's JSON Schema rejects, and a few
// things a schema cannot express (a regular expression that does not
// compile, degraded_ms not below timeout_ms, a URL without a host). An
// encoder refuses to write what its decoder would reject.
//
// # Compatibility rules
//
// Within a version only additive, ignorable changes are allowed: a new
// optional field that a consumer may ignore and still do and record the
// right thing (a trace id, an extra timing in a result), or a clearer
// description. Anything else needs a new version: removing or renaming a
// field, changing its type or unit, making a field required, adding an enum
// value (a new step action, comparison or status), adding a field a consumer
// must act on (a new request option), or changing what a value means. Add
// the version with its own wire struct and schema file, keep the old ones.
//
// # Old and new workers side by side
//
// During an upgrade, consumers decode every version they support and
// producers write the oldest version that every running consumer reads:
//
//  1. Roll out workers that read the new job version. They answer each job
//     at its own version (Job.ResultVersion), so the old ingest can read the
//     results of the old jobs.
//  2. Roll out the ingest that reads the new result version.
//  3. Switch the scheduler to the new job version. A new job that reaches a
//     worker still on the old build is unsupported there and goes back to
//     the queue for a new worker.
//
// A check the old version cannot carry (a browser check as
// checkfleet.job/v1) fails to encode with *UnrepresentableError, which the
// scheduler reports instead of sending a job that would run differently.
// A version is retired only after producers stopped writing it and its
// queues have drained (the SQS retention period).
//
// # Size
//
// An SQS message, body and attributes, is at most MaxMessageBytes (1 MiB,
// once the queue's MaximumMessageSize is raised from its 256 KiB default).
// The encoders return *TooLargeError beyond MaxBodyBytes; a worker then
// drops the result's screenshot and encodes again.
package message
