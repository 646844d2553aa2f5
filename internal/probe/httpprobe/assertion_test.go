package httpprobe

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

const jsonDoc = `{"data":{"id":8,"name":"widget","price":1.50,"tags":["a","b"],"empty":"","none":null,"list":[],"obj":{}},
"items":[{"name":"a","id":1},{"name":"b","id":2}],"ok":true}`

func TestEvaluate(t *testing.T) {
	header := http.Header{}
	header.Set("Content-Type", "application/json; charset=utf-8")
	header.Add("Set-Cookie", "a=1")
	header.Add("Set-Cookie", "b=2")
	header.Set("X-Empty", "")
	tests := []struct {
		a      check.Assertion
		passed bool
		actual string
		err    string // substring of AssertionResult.Error
	}{
		{a: assert(check.SourceStatusCode, "", check.Equals, "200"), passed: true, actual: "200"},
		{a: assert(check.SourceStatusCode, "", check.NotEquals, "200"), actual: "200"},
		{a: assert(check.SourceStatusCode, "", check.LessThan, "300"), passed: true, actual: "200"},
		{a: assert(check.SourceStatusCode, "", check.GreaterThan, "199"), passed: true, actual: "200"},
		{a: assert(check.SourceResponseTime, "", check.LessThan, "500"), passed: true, actual: "42"},
		{a: assert(check.SourceResponseTime, "", check.GreaterThan, "50"), actual: "42"},
		{a: assert(check.SourceTextBody, "", check.Contains, `"widget"`), passed: true},
		{a: assert(check.SourceTextBody, "", check.NotContains, "error"), passed: true},
		{a: assert(check.SourceTextBody, "", check.Matches, `"id":\s*8`), passed: true},
		{a: assert(check.SourceTextBody, "", check.NotEmpty, ""), passed: true},
		{a: assert(check.SourceTextBody, "", check.Equals, "x"), actual: `{"data":{"id":8,`},
		{a: assert(check.SourceHeaders, "content-type", check.Contains, "application/json"), passed: true, actual: "application/json; charset=utf-8"},
		{a: assert(check.SourceHeaders, "CONTENT-TYPE", check.Equals, "text/html"), actual: "application/json; charset=utf-8"},
		{a: assert(check.SourceHeaders, "set-cookie", check.Equals, "a=1, b=2"), passed: true, actual: "a=1, b=2"},
		{a: assert(check.SourceHeaders, "X-Empty", check.IsEmpty, ""), passed: true},
		{a: assert(check.SourceHeaders, "X-Missing", check.IsEmpty, ""), passed: true},
		{a: assert(check.SourceHeaders, "X-Missing", check.NotEmpty, ""), err: "no header X-Missing"},
		{a: assert(check.SourceHeaders, "X-Missing", check.NotContains, "x"), err: "no header X-Missing"},
		{a: assert(check.SourceHeaders, "Content-Type", check.Matches, `^application/(json|xml)`), passed: true},
		{a: assert(check.SourceHeaders, "", check.HasKey, "x-empty"), passed: true},
		{a: assert(check.SourceHeaders, "", check.HasKey, "Set-Cookie"), passed: true, actual: "a=1, b=2"},
		{a: assert(check.SourceHeaders, "", check.HasKey, "X-Request-Id"), err: "no header X-Request-Id"},
		{a: assert(check.SourceJSONBody, "$.data.id", check.Equals, "8"), passed: true, actual: "8"},
		{a: assert(check.SourceJSONBody, "$.data.id", check.Equals, "7"), actual: "8"},
		{a: assert(check.SourceJSONBody, "$.data.id", check.GreaterThan, "7"), passed: true, actual: "8"},
		{a: assert(check.SourceJSONBody, "$.data.price", check.Equals, "1.5"), passed: true, actual: "1.5"},
		{a: assert(check.SourceJSONBody, "$.data.price", check.LessThan, "2"), passed: true, actual: "1.5"},
		{a: assert(check.SourceJSONBody, "$.data.name", check.Equals, "widget"), passed: true, actual: "widget"},
		{a: assert(check.SourceJSONBody, "$.data.name", check.Matches, "^wid"), passed: true, actual: "widget"},
		{a: assert(check.SourceJSONBody, "$.data.name", check.GreaterThan, "1"), actual: "widget", err: "needs a number"},
		{a: assert(check.SourceJSONBody, "$.ok", check.Equals, "true"), passed: true, actual: "true"},
		{a: assert(check.SourceJSONBody, "$.data.tags", check.Contains, `"b"`), passed: true, actual: `["a","b"]`},
		{a: assert(check.SourceJSONBody, "$.data.tags[0]", check.Equals, "a"), passed: true, actual: "a"},
		{a: assert(check.SourceJSONBody, "$.items[*].name", check.Equals, `["a","b"]`), passed: true},
		{a: assert(check.SourceJSONBody, "$.items[?(@.id > 1)].name", check.Equals, "b"), passed: true, actual: "b"},
		{a: assert(check.SourceJSONBody, "$.data.empty", check.IsEmpty, ""), passed: true},
		{a: assert(check.SourceJSONBody, "$.data.none", check.IsEmpty, ""), passed: true, actual: "null"},
		{a: assert(check.SourceJSONBody, "$.data.list", check.IsEmpty, ""), passed: true, actual: "[]"},
		{a: assert(check.SourceJSONBody, "$.data.obj", check.IsEmpty, ""), passed: true, actual: "{}"},
		{a: assert(check.SourceJSONBody, "$.data.tags", check.NotEmpty, ""), passed: true},
		{a: assert(check.SourceJSONBody, "$.data.list", check.NotEmpty, "")},
		{a: assert(check.SourceJSONBody, "$.data.missing", check.IsEmpty, ""), passed: true},
		{a: assert(check.SourceJSONBody, "$.data.missing", check.Equals, "1"), err: "no value at $.data.missing"},
		{a: assert(check.SourceJSONBody, "$.data", check.HasKey, "price"), passed: true},
		{a: assert(check.SourceJSONBody, "$.data", check.HasKey, "cost")},
		{a: assert(check.SourceJSONBody, "", check.HasKey, "items"), passed: true},
		{a: assert(check.SourceJSONBody, "$.items[*]", check.HasKey, "name"), passed: true},
		{a: assert(check.SourceJSONBody, "$.data.tags", check.HasKey, "a")}, // arrays have no keys
		{a: assert(check.SourceJSONBody, "$.data.missing", check.HasKey, "a"), err: "no value"},
		{a: assert(check.SourceJSONBody, "", check.Contains, `"id":8`), passed: true},
	}
	for _, tt := range tests {
		t.Run(describe(tt.a), func(t *testing.T) {
			r := &response{statusCode: 200, header: header, body: []byte(jsonDoc), elapsed: 42 * time.Millisecond, bodyCap: 1 << 20}
			res, _ := evaluateOne(tt.a, r)
			if res.Passed != tt.passed {
				t.Errorf("Passed = %v, want %v (actual %q, error %q)", res.Passed, tt.passed, res.Actual, res.Error)
			}
			if tt.actual != "" && !strings.HasPrefix(res.Actual, tt.actual) {
				t.Errorf("Actual = %q, want %q", res.Actual, tt.actual)
			}
			if !strings.Contains(res.Error, tt.err) || (tt.err == "" && res.Error != "") {
				t.Errorf("Error = %q, want %q", res.Error, tt.err)
			}
			if res.Assertion != tt.a {
				t.Errorf("result carries assertion %+v, want %+v", res.Assertion, tt.a)
			}
		})
	}
}

func TestEvaluateJSONErrors(t *testing.T) {
	notJSON := &response{statusCode: 200, body: []byte("<html>"), bodyCap: 1 << 20}
	res, err := evaluateOne(assert(check.SourceJSONBody, "$.a", check.Equals, "1"), notJSON)
	if res.Passed || errors.Is(err, check.ErrBadDefinition) || !strings.Contains(res.Error, "body is not valid JSON") {
		t.Errorf("non-JSON body: %+v, %v; want a failure saying the body is not JSON", res, err)
	}
	truncated := &response{statusCode: 200, body: []byte(`{"a": [1, 2,`), truncated: true, bodyCap: 12}
	res, _ = evaluateOne(assert(check.SourceJSONBody, "$.a", check.Equals, "1"), truncated)
	if !strings.Contains(res.Error, "only the first 12 bytes were read") {
		t.Errorf("truncated body: error %q does not say the body was cut", res.Error)
	}
	res, err = evaluateOne(assert(check.SourceJSONBody, "$[", check.Equals, "1"), &response{body: []byte("{}")})
	if !errors.Is(err, check.ErrBadDefinition) || !strings.Contains(res.Error, `invalid JSONPath "$["`) {
		t.Errorf("bad JSONPath: %+v, %v; want a bad definition", res, err)
	}
}

func TestEvaluateVerdict(t *testing.T) {
	r := &response{statusCode: 200, body: []byte(`{"data":{"id":8}}`), header: http.Header{}}
	_, err := evaluate([]check.Assertion{
		assert(check.SourceStatusCode, "", check.Equals, "200"),
		assert(check.SourceJSONBody, "$.data.id", check.Equals, "7"),
		assert(check.SourceTextBody, "", check.Contains, "nope"),
	}, r)
	want := `assertion 2 (json_body $.data.id equals "7"): got "8" (and 1 more failed)`
	if err == nil || err.Error() != want {
		t.Fatalf("verdict %v, want %q", err, want)
	}
	_, err = evaluate([]check.Assertion{
		assert(check.SourceStatusCode, "", check.Equals, "500"),
		assert(check.SourceTextBody, "", check.Matches, "(unclosed"),
	}, r)
	if !errors.Is(err, check.ErrBadDefinition) || !strings.Contains(err.Error(), `bad definition: assertion 2 (text_body matches "(unclosed"): invalid regular expression`) {
		t.Fatalf("verdict %v, want the bad definition of assertion 2", err)
	}
	results, err := evaluate([]check.Assertion{assert(check.SourceTextBody, "", check.NotEmpty, "")}, r)
	if err != nil || len(results) != 1 || !results[0].Passed {
		t.Fatalf("all passing: %+v, %v", results, err)
	}
}

func assert(src check.Source, prop string, cmp check.Comparison, target string) check.Assertion {
	return check.Assertion{Source: src, Property: prop, Comparison: cmp, Target: target}
}

// FuzzEvaluateJSON feeds arbitrary bodies (which come from targets) and
// paths to json_body assertions: no panic, and a verdict or an error.
func FuzzEvaluateJSON(f *testing.F) {
	f.Add([]byte(jsonDoc), "$.data.id", "8")
	f.Add([]byte(`[1,[2,[3]]]`), "$..[1]", "2")
	f.Add([]byte(`{"a":"\u00e9"}`), "$[?(@.a == 'é')]", "x")
	f.Add([]byte(`{"a":1e400}`), "$.a", "1")
	f.Fuzz(func(t *testing.T, body []byte, path, target string) {
		watchdog := time.AfterFunc(5*time.Second, func() {
			panic(fmt.Sprintf("json_body assertion on %q with %q took over 5s", body, path))
		})
		defer watchdog.Stop()
		for _, cmp := range []check.Comparison{check.Equals, check.HasKey, check.IsEmpty, check.LessThan} {
			r := &response{statusCode: 200, body: body, bodyCap: 1 << 20}
			res, err := evaluateOne(assert(check.SourceJSONBody, path, cmp, target), r)
			if res.Passed && (err != nil || res.Error != "") {
				t.Fatalf("passed with an error: %+v, %v", res, err)
			}
			if len(res.Actual) > check.MaxActual+len("…") {
				t.Fatalf("Actual of %d bytes", len(res.Actual))
			}
		}
	})
}
