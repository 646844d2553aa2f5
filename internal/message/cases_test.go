package message

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// invalidCase is a hand-written bad message: Decode must reject it as
// malformed at path, saying says; the JSON Schema named by schema must
// reject it too, unless semantic marks a rule no schema can express.
type invalidCase struct {
	name     string
	schema   string // the schema the document claims, or is checked against
	body     []byte
	path     string
	says     string
	semantic bool
	// schemaPath is where the schema reports the error, when a schema
	// cannot point at the same field as the decoder (a "not" rule reports
	// the enclosing object); empty means path.
	schemaPath string
}

// del as an edit value removes the key.
type deleted struct{}

var del deleted

// base returns an encoded realistic message to edit.
func base(t testing.TB, name string) []byte {
	t.Helper()
	var body []byte
	var err error
	switch name {
	case "job/v1":
		body, err = EncodeJob(legacyJob(), V1)
	case "job/v2 api":
		body, err = EncodeJob(apiJob(), V2)
	case "job/v2 browser":
		body, err = EncodeJob(browserJob(), V2)
	case "result/v1":
		body, err = EncodeResult(legacyResult(), V1)
	case "result/v2 api":
		body, err = EncodeResult(apiResult(), V2)
	case "result/v2 browser":
		body, err = EncodeResult(browserResult(), V2)
	case "result/v2 error":
		body, err = EncodeResult(errorResult(), V2)
	default:
		t.Fatalf("no base %q", name)
	}
	if err != nil {
		t.Fatalf("encode base %s: %v", name, err)
	}
	return body
}

// edit sets (or, with del, removes) the value at a dotted path in a JSON
// document; numeric segments index arrays: "check.browser.steps.2.url".
func edit(t testing.TB, body []byte, path string, value any) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("edit: %v", err)
	}
	segs := strings.Split(path, ".")
	node := root
	for _, seg := range segs[:len(segs)-1] {
		switch n := node.(type) {
		case map[string]any:
			node = n[seg]
		case []any:
			i, _ := strconv.Atoi(seg)
			node = n[i]
		default:
			t.Fatalf("edit: no %s in %s", seg, path)
		}
	}
	last := segs[len(segs)-1]
	switch n := node.(type) {
	case map[string]any:
		if value == del {
			delete(n, last)
		} else {
			n[last] = value
		}
	case []any:
		i, _ := strconv.Atoi(last)
		n[i] = value
	default:
		t.Fatalf("edit: cannot set %s", path)
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	return out
}

// raw is a literal JSON value for edit.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// invalidCases lists the hand-written invalid documents.
func invalidCases(t testing.TB) []invalidCase {
	type c = invalidCase
	e := func(name, baseName, path string, value any, wantPath, says string) c {
		schema := map[string]string{"job": JobV1, "res": ResultV1}[baseName[:3]]
		if strings.Contains(baseName, "v2") {
			schema = strings.Replace(schema, "v1", "v2", 1)
		}
		return c{name: name, schema: schema, body: edit(t, base(t, baseName), path, value), path: wantPath, says: says}
	}
	semantic := func(x c) c { x.semantic = true; return x }
	schemaAt := func(p string, x c) c { x.schemaPath = p; return x }
	cases := []c{
		// Jobs, v2 api.
		e("run_id missing", "job/v2 api", "run_id", del, "run_id", "is required"),
		e("run_id empty", "job/v2 api", "run_id", "", "run_id", "must not be empty"),
		e("run_id number", "job/v2 api", "run_id", 42, "run_id", "must be a string, got a number (42)"),
		e("run_id null", "job/v2 api", "run_id", nil, "run_id", "must be a string, got null"),
		e("scheduled_at prose", "job/v2 api", "scheduled_at", "yesterday", "scheduled_at", `must be an RFC 3339 timestamp, got "yesterday"`),
		e("scheduled_at with space", "job/v2 api", "scheduled_at", "2026-03-14 09:26:53Z", "scheduled_at", "RFC 3339"),
		e("attempt zero", "job/v2 api", "attempt", 0, "attempt", "from 1 to 2147483647, got 0"),
		e("attempt fraction", "job/v2 api", "attempt", 1.5, "attempt", "must be an integer"),
		e("attempt string", "job/v2 api", "attempt", "1", "attempt", "must be an integer, got a string"),
		e("location missing", "job/v2 api", "location", del, "location", "is required"),
		e("check missing", "job/v2 api", "check", del, "check", "is required"),
		e("check a string", "job/v2 api", "check", "x", "check", "must be an object, got a string"),
		e("unknown type", "job/v2 api", "check.type", "ping", "check.type", `unknown type "ping"`),
		e("timeout zero", "job/v2 api", "check.timeout_ms", 0, "check.timeout_ms", "from 1"),
		e("timeout negative", "job/v2 api", "check.timeout_ms", -5, "check.timeout_ms", "from 1"),
		e("timeout overflows", "job/v2 api", "check.timeout_ms", raw("1e30"), "check.timeout_ms", "must be an integer from 1 to 9223372036854"),
		e("api missing", "job/v2 api", "check.api", del, "check.api", "is required for an api check"),
		e("url missing", "job/v2 api", "check.api.url", del, "check.api.url", "is required"),
		e("url relative", "job/v2 api", "check.api.url", "/login", "check.api.url", "absolute http or https"),
		e("method unknown", "job/v2 api", "check.api.method", "FETCH", "check.api.method", `unsupported method "FETCH"`),
		e("header without value", "job/v2 api", "check.api.headers.0", map[string]any{"name": "X"}, "check.api.headers[0].value", "is required"),
		e("headers as a map", "job/v2 api", "check.api.headers", map[string]any{"Accept": "*/*"}, "check.api.headers", "must be an array, got an object"),
		e("header name with space", "job/v2 api", "check.api.headers.1.name", "X Bad", "check.api.headers[1].name", "not a valid header name"),
		e("header value with newline", "job/v2 api", "check.api.headers.1.value", "a\r\nX: y", "check.api.headers[1].value", "CR, LF"),
		e("follow_redirects string", "job/v2 api", "check.api.follow_redirects", "yes", "check.api.follow_redirects", "must be true or false"),
		schemaAt("check.api.follow_redirects",
			e("max_redirects without follow", "job/v2 api", "check.api.follow_redirects", false, "check.api.max_redirects", "follow_redirects is false")),
		e("unknown comparison", "job/v2 api", "check.assertions.0.comparison", "between", "check.assertions[0].comparison", `unknown comparison "between"`),
		e("unknown source", "job/v2 api", "check.assertions.0.source", "cookies", "check.assertions[0].source", `unknown source "cookies"`),
		e("comparison not for source", "job/v2 api", "check.assertions.0.comparison", "contains", "check.assertions[0].comparison", "contains cannot be used with status_code"),
		e("status target not a code", "job/v2 api", "check.assertions.0.target", "OK", "check.assertions[0].target", "must be a status code"),
		e("target on not_empty", "job/v2 api", "check.assertions.3.target", "x", "check.assertions[3].target", "must be empty for not_empty"),
		e("headers without property", "job/v2 api", "check.assertions.2.property", del, "check.assertions[2].property", "is required for headers"),
		e("has_key on headers with property", "job/v2 api", "check.assertions.2.comparison", "has_key", "check.assertions[2].property", "must be empty for has_key on headers"),
		e("assertion without comparison", "job/v2 api", "check.assertions.1.comparison", del, "check.assertions[1].comparison", "is required"),
		schemaAt("check", e("browser on api check", "job/v2 api", "check.browser",
			map[string]any{"steps": []any{map[string]any{"action": "screenshot"}}}, "check.browser", "must not be set on an api check")),
		semantic(e("degraded not below timeout", "job/v2 api", "check.degraded_ms", 10000, "check.degraded_ms", "must be less than timeout")),
		semantic(e("regexp does not compile", "job/v2 api", "check.assertions.5.target", "(", "check.assertions[5].target", "not a valid regular expression")),
		semantic(e("url without host", "job/v2 api", "check.api.url", "https:///x", "check.api.url", "has no host")),
		// Jobs, v2 browser.
		e("no steps", "job/v2 browser", "check.browser.steps", []any{}, "check.browser.steps", "needs at least one step"),
		e("steps missing", "job/v2 browser", "check.browser.steps", del, "check.browser.steps", "is required"),
		e("unknown action", "job/v2 browser", "check.browser.steps.0.action", "hover", "check.browser.steps[0].action", `unknown action "hover"`),
		e("goto without url", "job/v2 browser", "check.browser.steps.0.url", del, "check.browser.steps[0].url", "is required"),
		e("press without key", "job/v2 browser", "check.browser.steps.4.key", del, "check.browser.steps[4].key", "is required for press"),
		e("sleep without duration", "job/v2 browser", "check.browser.steps.12.duration_ms", del, "check.browser.steps[12].duration_ms", "is required"),
		e("unknown matcher", "job/v2 browser", "check.browser.steps.7.matcher", "like", "check.browser.steps[7].matcher", `unknown matcher "like"`),
		e("negative step timeout", "job/v2 browser", "check.browser.steps.5.timeout_ms", -1, "check.browser.steps[5].timeout_ms", "from 0"),
		e("zero viewport width", "job/v2 browser", "check.browser.viewport.width", 0, "check.browser.viewport.width", "from 1"),
		e("viewport without height", "job/v2 browser", "check.browser.viewport.height", del, "check.browser.viewport.height", "is required"),
		e("assertions on browser check", "job/v2 browser", "check.assertions", []any{map[string]any{"source": "status_code", "comparison": "equals", "target": "200"}}, "check.assertions", "assert_* steps"),
		schemaAt("check", e("api on browser check", "job/v2 browser", "check.api",
			map[string]any{"method": "GET", "url": "https://x.example"}, "check.api", "must not be set on a browser check")),
		// Jobs, v1.
		e("v1 url missing", "job/v1", "url", del, "url", "is required"),
		e("v1 url ftp", "job/v1", "url", "ftp://example.com/", "url", "absolute http or https"),
		e("v1 expect_status out of range", "job/v1", "expect_status", 42, "expect_status", "from 100 to 999"),
		e("v1 timeout as duration string", "job/v1", "timeout_ms", "5s", "timeout_ms", "must be an integer, got a string"),
		e("v1 lower-case method", "job/v1", "method", "get", "method", `unsupported method "get"`),
		e("v1 scheduled_at missing", "job/v1", "scheduled_at", del, "scheduled_at", "is required"),
		// Results, v2.
		e("unknown status", "result/v2 api", "status", "ok", "status", `unknown status "ok"`),
		e("error status without error", "result/v2 error", "error", del, "error", "is required when status is error"),
		e("worker missing", "result/v2 api", "worker", del, "worker", "is required"),
		e("worker version empty", "result/v2 api", "worker.version", "", "worker.version", "must not be empty"),
		e("started_at missing", "result/v2 api", "started_at", del, "started_at", "is required"),
		e("timings without total", "result/v2 api", "timings_ms.total", del, "timings_ms.total", "is required"),
		e("negative dns", "result/v2 api", "timings_ms.dns", -1, "timings_ms.dns", "from 0"),
		e("status code 1000", "result/v2 api", "http.status_code", 1000, "http.status_code", "from 100 to 999"),
		e("body_bytes missing", "result/v2 api", "http.body_bytes", del, "http.body_bytes", "is required"),
		e("tls without version", "result/v2 api", "http.tls.version", del, "http.tls.version", "is required"),
		e("cert expiry not a time", "result/v2 api", "http.tls.cert_not_after", "soon", "http.tls.cert_not_after", "RFC 3339"),
		e("assertion without passed", "result/v2 api", "assertions.0.passed", del, "assertions[0].passed", "is required"),
		e("assertion unknown source", "result/v2 api", "assertions.0.source", "cookies", "assertions[0].source", `unknown source "cookies"`),
		e("screenshot not base64", "result/v2 browser", "browser.screenshot", "not base64!", "browser.screenshot", "must be standard base64"),
		e("step unknown action", "result/v2 browser", "browser.steps.0.action", "hover", "browser.steps[0].action", `unknown action "hover"`),
		e("step without duration", "result/v2 browser", "browser.steps.1.duration_ms", del, "browser.steps[1].duration_ms", "is required"),
		e("console error a number", "result/v2 browser", "browser.console_errors.1", 1, "browser.console_errors[1]", "must be a string"),
		e("failed request without url", "result/v2 browser", "browser.failed_requests.0.url", del, "browser.failed_requests[0].url", "is required"),
		// Results, v1.
		e("v1 ok as string", "result/v1", "ok", "true", "ok", "must be true or false, got a string"),
		e("v1 ok missing", "result/v1", "ok", del, "ok", "is required"),
		e("v1 negative duration", "result/v1", "duration_ms", -1, "duration_ms", "from 0"),
		e("v1 finished_at missing", "result/v1", "finished_at", del, "finished_at", "is required"),
		e("v1 status_code zero", "result/v1", "status_code", 0, "status_code", "from 100 to 999"),
		// Whole messages.
		{name: "not an object", schema: JobV2, body: []byte(`["checkfleet.job/v2"]`), says: "the message must be an object, got an array"},
		{name: "no schema", schema: JobV2, body: edit(t, base(t, "job/v2 api"), "schema", del), path: "schema", says: "is required"},
		{name: "schema key in upper case", schema: JobV2,
			body: edit(t, edit(t, base(t, "job/v2 api"), "schema", del), "Schema", JobV2), path: "schema", says: "is required"},
		{name: "run_id key in upper case", schema: JobV2,
			body: edit(t, edit(t, base(t, "job/v2 api"), "run_id", del), "RUN_ID", "run-1"), path: "run_id", says: "is required"},
		{name: "schema a number", schema: JobV2, body: []byte(`{"schema":2}`), path: "schema", says: "must be a string, got a number (2)"},
		{name: "schema without version", schema: JobV2, body: edit(t, base(t, "job/v2 api"), "schema", "checkfleet.job"),
			path: "schema", says: `"checkfleet.job" is not a checkfleet schema id`},
		{name: "schema of another product", schema: JobV2, body: edit(t, base(t, "job/v2 api"), "schema", "acme.job/v2"),
			path: "schema", says: "is not a checkfleet schema id"},
		{name: "result given as job", schema: JobV2, body: edit(t, base(t, "job/v2 api"), "schema", ResultV2),
			path: "schema", says: "is a result schema, want checkfleet.job/vN"},
		{name: "job given as result", schema: ResultV2, body: edit(t, base(t, "result/v2 api"), "schema", JobV2),
			path: "schema", says: "is a job schema, want checkfleet.result/vN"},
	}
	return cases
}

// validVariant is an unusual but valid message: Decode and the JSON Schema
// both accept it.
type validVariant struct {
	name   string
	kind   Kind
	body   []byte
	expect func(t *testing.T, j Job)
}

// validVariants lists what a decoder must tolerate: unknown fields (the
// additive changes a version allows), any RFC 3339 offset or precision,
// integral numbers written as floats, empty optional arrays.
func validVariants(t testing.TB) []validVariant {
	return []validVariant{
		{"unknown fields at every level", KindJob,
			edit(t, edit(t, edit(t, base(t, "job/v2 api"), "trace_id", "abc"), "check.api.http2", true), "check.assertions.0.weight", 3), nil},
		{"unknown fields in v1", KindJob, edit(t, base(t, "job/v1"), "priority", raw(`{"level":1}`)), nil},
		{"offset timestamp", KindJob, edit(t, base(t, "job/v2 api"), "scheduled_at", "2026-03-14T10:26:53.589793238+01:00"),
			func(t *testing.T, j Job) {
				if want := apiJob().ScheduledAt; !reflect.DeepEqual(j.ScheduledAt, want) {
					t.Errorf("scheduled_at = %v, want %v in UTC", j.ScheduledAt, want)
				}
			}},
		{"second-precision timestamp", KindJob, edit(t, base(t, "job/v1"), "scheduled_at", "2026-03-14T09:26:53Z"),
			func(t *testing.T, j Job) {
				if want := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC); !j.ScheduledAt.Equal(want) {
					t.Errorf("scheduled_at = %v, want %v", j.ScheduledAt, want)
				}
			}},
		{"integral floats", KindJob, edit(t, edit(t, base(t, "job/v2 api"), "attempt", raw("2.0")), "check.timeout_ms", raw("1e4")),
			func(t *testing.T, j Job) {
				if j.Attempt != 2 || j.Check.Timeout != 10*time.Second {
					t.Errorf("attempt %d timeout %v, want 2 10s", j.Attempt, j.Check.Timeout)
				}
			}},
		{"v1 without expect_status", KindJob, edit(t, base(t, "job/v1"), "expect_status", del),
			func(t *testing.T, j Job) {
				if j.Check.Assertions != nil {
					t.Errorf("v1 without expect_status has assertions %v", j.Check.Assertions)
				}
			}},
		{"empty headers", KindJob, edit(t, base(t, "job/v2 api"), "check.api.headers", []any{}),
			func(t *testing.T, j Job) {
				if j.Check.API.Headers != nil {
					t.Errorf("headers = %#v, want nil", j.Check.API.Headers)
				}
			}},
		{"has_key on headers", KindJob, edit(t, edit(t, edit(t, base(t, "job/v2 api"), "check.assertions.2.comparison", "has_key"),
			"check.assertions.2.property", del), "check.assertions.2.target", "X-Request-Id"),
			func(t *testing.T, j Job) {
				if a := j.Check.Assertions[2]; a.Comparison != check.HasKey || a.Target != "X-Request-Id" || a.Property != "" {
					t.Errorf("assertion = %+v, want has_key X-Request-Id", a)
				}
			}},
		{"unknown fields in results", KindResult, edit(t, edit(t, base(t, "result/v2 browser"), "cost_usd", 0.01), "browser.har", "x"), nil},
		{"unknown fields in v1 results", KindResult, edit(t, base(t, "result/v1"), "region", "eu"), nil},
	}
}
