package message

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/checkfleet/checkfleet/internal/check"
)

// sqsAccepts is SQS's rule for a message body and string attributes,
// written from its documentation rather than from the code under test:
// valid UTF-8 of #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
// #x10000-#x10FFFF.
func sqsAccepts(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		ok := c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
			(c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF)
		if !ok {
			return false
		}
	}
	return true
}

// hostile is text a target can put in a response: each piece is something
// SQS refuses, raw or once decoded from JSON.
const hostile = "a\uFFFFb\uFFFEc\x00d\x1be\xffg\u0085\U0010FFFF"

// TestEncodeResultMakesEveryStringSendable puts text SQS refuses in every
// string a result records and wants a message SQS takes, matching its
// schema, saying which field was altered; the caller's result is left as it
// was.
func TestEncodeResultMakesEveryStringSendable(t *testing.T) {
	tests := []struct {
		name string
		base func() check.Result
		edit func(*check.Result)
		path string
	}{
		{"error", browserResult, func(r *check.Result) { r.Error = hostile }, "error"},
		{"header value", apiResult, func(r *check.Result) { r.HTTP.Headers[1].Value = hostile }, "http.headers[1].value"},
		{"header name", apiResult, func(r *check.Result) { r.HTTP.Headers[2].Name = hostile }, "http.headers[2].name"},
		{"cert subject", apiResult, func(r *check.Result) { r.HTTP.TLS.CertSubject = hostile }, "http.tls.cert_subject"},
		{"cert issuer", apiResult, func(r *check.Result) { r.HTTP.TLS.CertIssuer = hostile }, "http.tls.cert_issuer"},
		{"server name", apiResult, func(r *check.Result) { r.HTTP.TLS.ServerName = hostile }, "http.tls.server_name"},
		{"assertion actual", apiResult, func(r *check.Result) { r.Assertions[1].Actual = hostile }, "assertions[1].actual"},
		{"assertion error", apiResult, func(r *check.Result) { r.Assertions[2].Error = hostile }, "assertions[2].error"},
		{"assertion target", apiResult, func(r *check.Result) { r.Assertions[0].Assertion.Target = hostile }, "assertions[0].target"},
		{"step target", browserResult, func(r *check.Result) { r.Browser.Steps[1].Target = hostile }, "browser.steps[1].target"},
		{"step error", browserResult, func(r *check.Result) { r.Browser.Steps[2].Error = hostile }, "browser.steps[2].error"},
		{"console line", browserResult, func(r *check.Result) { r.Browser.ConsoleErrors[1] = hostile }, "browser.console_errors[1]"},
		{"failed request url", browserResult, func(r *check.Result) { r.Browser.FailedRequests[0].URL = hostile }, "browser.failed_requests[0].url"},
		{"failed request error", browserResult, func(r *check.Result) { r.Browser.FailedRequests[1].Error = hostile }, "browser.failed_requests[1].error"},
		{"navigation url", browserResult, func(r *check.Result) { r.Browser.Navigation.URL = hostile }, "browser.navigation_ms.url"},
		{"worker host", errorResult, func(r *check.Result) { r.Worker.Host = hostile }, "worker.host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.base()
			tt.edit(&in)
			before := tt.base()
			tt.edit(&before)
			body := encodeSendable(t, in, V2)
			if !reflect.DeepEqual(in, before) {
				t.Errorf("EncodeResult changed its argument")
			}
			got, _, err := DecodeResult(body)
			if err != nil {
				t.Fatalf("DecodeResult: %v\n%s", err, body)
			}
			want := "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDg\u0085\U0010FFFF"
			if !strings.Contains(string(body), want) {
				t.Errorf("wire does not hold %q (each refused piece replaced by U+FFFD):\n%s", want, body)
			}
			if len(got.Altered) != 1 || !strings.HasPrefix(got.Altered[0], tt.path+": ") || !strings.Contains(got.Altered[0], "5 characters") {
				t.Errorf("altered = %q, want one note on %s saying 5 characters were replaced", got.Altered, tt.path)
			}
			// What was received is what is sent again: nothing more to alter.
			again := encodeSendable(t, got, V2)
			if string(again) != string(body) {
				t.Errorf("re-encoding the decoded result changed it\nfirst  %s\nsecond %s", body, again)
			}
		})
	}
}

// A status code the wire cannot carry is recorded in a note, not refused.
func TestEncodeResultRecordsOutOfRangeStatusCodes(t *testing.T) {
	tests := []struct {
		name string
		base func() check.Result
		edit func(*check.Result)
		note string
	}{
		{"http 000", apiResult, func(r *check.Result) { r.HTTP.StatusCode = 0 }, "http: not recorded: status code 0 is outside 100-999"},
		{"http 099", apiResult, func(r *check.Result) { r.HTTP.StatusCode = 99 }, "http: not recorded: status code 99 is outside 100-999"},
		{"http 1000", apiResult, func(r *check.Result) { r.HTTP.StatusCode = 1000 }, "http: not recorded: status code 1000 is outside 100-999"},
		{"step", browserResult, func(r *check.Result) { r.Browser.Steps[0].StatusCode = 99 }, "browser.steps[0].status_code: not recorded: 99 is outside 100-999"},
		{"failed request", browserResult, func(r *check.Result) { r.Browser.FailedRequests[0].StatusCode = -1 }, "browser.failed_requests[0].status_code: not recorded: -1 is outside 100-999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.base()
			tt.edit(&in)
			for _, v := range Supported(KindResult) {
				body := encodeSendable(t, in, v)
				got, _, err := DecodeResult(body)
				if err != nil {
					t.Fatalf("%s: DecodeResult: %v\n%s", v, err, body)
				}
				if v == V2 && !slices.Contains(got.Altered, tt.note) {
					t.Errorf("altered = %q, want %q", got.Altered, tt.note)
				}
			}
		})
	}
}

// Text that SQS refuses raw but JSON carries escaped ("\u0000", "\uffff")
// may come from an older worker; the decoder hands it out sendable too.
func TestDecodeResultMakesStringsSendable(t *testing.T) {
	body := edit(t, base(t, "result/v2 api"), "error", "x\x00y\uffff")
	got, _, err := DecodeResult(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Error != "x\uFFFDy\uFFFD" || !slices.Equal(got.Altered, []string{"error: 2 characters SQS cannot carry replaced with U+FFFD"}) {
		t.Errorf("decoded error %q, altered %q", got.Error, got.Altered)
	}
}

// Notes beyond maxAlteredNotes are summed up in one, so they cannot crowd
// out the result.
func TestAlteredNotesAreBounded(t *testing.T) {
	r := browserResult()
	r.Browser.ConsoleErrors = nil
	for range 100 {
		r.Browser.ConsoleErrors = append(r.Browser.ConsoleErrors, "\uFFFF")
	}
	got, _, err := DecodeResult(encodeSendable(t, r, V2))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Altered) != maxAlteredNotes+1 || got.Altered[maxAlteredNotes] != fmt.Sprintf("and %d more fields", 100-maxAlteredNotes) {
		t.Errorf("altered = %q", got.Altered)
	}
}

func TestErrorResult(t *testing.T) {
	r := apiResult()
	r.HTTP.BodyBytes = -1 // what no encoder accepts
	if _, err := EncodeResult(r, V2); err == nil {
		t.Fatal("EncodeResult accepted a negative body size")
	}
	e := ErrorResult(r, "worker: result could not be encoded: \uFFFF"+strings.Repeat("x", 10000))
	for _, v := range Supported(KindResult) {
		got, _, err := DecodeResult(encodeSendable(t, e, v))
		if err != nil {
			t.Fatal(err)
		}
		if got.RunID != r.RunID || got.CheckID != r.CheckID || got.Status.OK() {
			t.Errorf("%s: error result %+v does not answer run %s as not ok", v, got, r.RunID)
		}
	}
	if e.Status != check.StatusError || e.HTTP != nil || e.Assertions != nil || len(e.Error) > maxErrorResultText+len("…") ||
		!strings.HasPrefix(e.Error, "worker: result could not be encoded: ") {
		t.Errorf("ErrorResult = %+v", e)
	}
	// Even identity fields that are missing or broken give a sendable result.
	e = ErrorResult(check.Result{RunID: "run-1\uFFFF", CheckID: "c"}, "")
	if _, err := EncodeResult(e, V2); err != nil {
		t.Errorf("ErrorResult of a bare result does not encode: %v (%+v)", err, e)
	}
}

// encodeSendable encodes r at v and fails unless SQS would take the body
// and the body matches its schema.
func encodeSendable(t *testing.T, r check.Result, v Version) []byte {
	t.Helper()
	body, err := EncodeResult(r, v)
	if err != nil {
		t.Fatalf("EncodeResult(%s): %v", v, err)
	}
	if !sqsAccepts(string(body)) {
		t.Fatalf("SQS refuses the body:\n%q", body)
	}
	if err := validate(t, compiledSchemas(t), SchemaID(KindResult, v), body); err != nil {
		t.Fatalf("body does not match %s: %v\n%s", SchemaID(KindResult, v), err, body)
	}
	return body
}

// FuzzEncodeResultSendable: whatever text a target puts in the fields it
// controls, the result encodes, SQS takes it, and it decodes to what is
// encoded again unchanged.
func FuzzEncodeResultSendable(f *testing.F) {
	for _, s := range []string{"", "ok", hostile, "\xed\xa0\x80", "\uFFFD", "\u2028<&>", "\x7f\x9f"} {
		f.Add(s, 200)
	}
	f.Add("HTTP/1.1 000 X", 0)
	f.Add("x", 99)
	f.Fuzz(func(t *testing.T, s string, code int) {
		r := apiResult()
		r.Error = s
		r.HTTP.StatusCode = code
		r.HTTP.Headers = append(r.HTTP.Headers, check.Header{Name: "X" + s, Value: s})
		r.Assertions[1].Actual = s
		r.Altered = []string{s}
		body, err := EncodeResult(r, V2)
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatalf("EncodeResult: %v", err)
		}
		if !sqsAccepts(string(body)) {
			t.Fatalf("SQS refuses the body: %q", body)
		}
		got, _, err := DecodeResult(body)
		if err != nil {
			t.Fatalf("DecodeResult: %v\n%s", err, body)
		}
		again, err := EncodeResult(got, V2)
		if err != nil || string(again) != string(body) {
			t.Fatalf("re-encoded: %v\nfirst  %s\nsecond %s", err, body, again)
		}
	})
}
