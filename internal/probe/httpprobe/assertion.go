package httpprobe

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ohler55/ojg"
	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"

	"github.com/checkfleet/checkfleet/internal/check"
)

// response is what assertions read. The body text and the parsed JSON are
// computed once, on first use.
type response struct {
	statusCode int
	header     http.Header
	body       []byte
	truncated  bool
	bodyCap    int64
	elapsed    time.Duration

	text     *string
	json     any
	jsonErr  error
	jsonDone bool
}

// evaluate runs every assertion against r. It returns the results and the
// first problem: an error wrapping check.ErrBadDefinition if any assertion is
// badly defined, otherwise the first failure, described for Result.Error
// (`assertion 2 (json_body $.data.id equals "7"): got "8"`); nil if all
// passed. Assertions are numbered from 1 in the description.
func evaluate(assertions []check.Assertion, r *response) ([]check.AssertionResult, error) {
	results := make([]check.AssertionResult, len(assertions))
	var bad, failed error
	nfailed := 0
	for i, a := range assertions {
		res, err := evaluateOne(a, r)
		results[i] = res
		if res.Passed {
			continue
		}
		nfailed++
		why := "got " + strconv.Quote(res.Actual)
		if res.Error != "" {
			why = res.Error
		}
		switch {
		case errors.Is(err, check.ErrBadDefinition):
			if bad == nil {
				bad = fmt.Errorf("%w: assertion %d (%s): %s", check.ErrBadDefinition, i+1, describe(a), strings.TrimPrefix(why, check.ErrBadDefinition.Error()+": "))
			}
		case failed == nil:
			failed = fmt.Errorf("assertion %d (%s): %s", i+1, describe(a), why)
		}
	}
	switch {
	case bad != nil:
		return results, bad
	case nfailed > 1:
		return results, fmt.Errorf("%w (and %d more failed)", failed, nfailed-1)
	}
	return results, failed
}

// evaluateOne reads the value a names from r and compares it. The error is
// the one that made it fail, if any; it is also in the result's Error.
func evaluateOne(a check.Assertion, r *response) (check.AssertionResult, error) {
	res := check.AssertionResult{Assertion: a}
	var actual string
	switch a.Source {
	case check.SourceStatusCode:
		actual = strconv.Itoa(r.statusCode)
	case check.SourceResponseTime:
		actual = strconv.FormatInt(r.elapsed.Milliseconds(), 10)
	case check.SourceTextBody:
		actual = r.bodyText()
	case check.SourceHeaders:
		if a.Comparison == check.HasKey {
			res.Actual = check.TruncateActual(strings.Join(r.header.Values(a.Target), ", "))
			res.Passed = len(r.header.Values(a.Target)) > 0
			if !res.Passed {
				res.Error = "no header " + a.Target
				return res, errors.New(res.Error)
			}
			return res, nil
		}
		values := r.header.Values(a.Property)
		if len(values) == 0 {
			return absent(res, fmt.Sprintf("no header %s", a.Property))
		}
		actual = strings.Join(values, ", ")
	case check.SourceJSONBody:
		return r.evaluateJSON(res)
	default:
		err := fmt.Errorf("%w: unknown source %q", check.ErrBadDefinition, a.Source)
		res.Error = err.Error()
		return res, err
	}
	return compare(res, actual)
}

// compare finishes res with the comparison of actual against its target.
func compare(res check.AssertionResult, actual string) (check.AssertionResult, error) {
	res.Actual = check.TruncateActual(actual)
	ok, err := res.Assertion.Comparison.Compare(actual, res.Assertion.Target)
	res.Passed = ok && err == nil
	if err != nil {
		res.Error = err.Error()
	}
	return res, err
}

// absent judges a value that is not there (a missing header, a JSONPath
// selecting nothing): is_empty passes; every other comparison fails with
// why, including the negative ones, since asserting on a value that does
// not exist is more likely a mistake than intended.
func absent(res check.AssertionResult, why string) (check.AssertionResult, error) {
	if res.Assertion.Comparison == check.IsEmpty {
		res.Passed = true
		return res, nil
	}
	res.Error = why
	return res, errors.New(why)
}

// evaluateJSON judges a json_body assertion: the body parsed as JSON, the
// nodes Property (a JSONPath, "$" when empty) selects, compared as text.
// One node is compared as its text (a string without quotes, a number as
// written by JSON, an object or array as compact JSON with sorted keys);
// several are compared as a JSON array of them. has_key passes when a
// selected node is an object with the key Target.
func (r *response) evaluateJSON(res check.AssertionResult) (check.AssertionResult, error) {
	a := res.Assertion
	path := a.Property
	if path == "" {
		path = "$"
	}
	x, err := jp.ParseString(path)
	if err != nil {
		err = fmt.Errorf("%w: invalid JSONPath %q: %v", check.ErrBadDefinition, path, err)
		res.Error = err.Error()
		return res, err
	}
	doc, err := r.parsedJSON()
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	nodes := x.Get(doc)
	if len(nodes) == 0 {
		return absent(res, "no value at "+path)
	}
	var actual string
	if len(nodes) == 1 {
		actual = jsonText(nodes[0])
	} else {
		actual = jsonText(nodes)
	}
	switch a.Comparison {
	case check.HasKey:
		res.Actual = check.TruncateActual(actual)
		for _, n := range nodes {
			if m, ok := n.(map[string]any); ok {
				if _, ok := m[a.Target]; ok {
					res.Passed = true
					return res, nil
				}
			}
		}
		return res, nil
	case check.IsEmpty, check.NotEmpty:
		empty := len(nodes) == 1 && jsonEmpty(nodes[0])
		res.Actual = check.TruncateActual(actual)
		res.Passed = empty == (a.Comparison == check.IsEmpty)
		return res, nil
	}
	return compare(res, actual)
}

func (r *response) bodyText() string {
	if r.text == nil {
		s := string(r.body)
		r.text = &s
	}
	return *r.text
}

func (r *response) parsedJSON() (any, error) {
	if !r.jsonDone {
		r.jsonDone = true
		parser := parsers.Get().(*oj.Parser)
		r.json, r.jsonErr = parser.Parse(r.body)
		parsers.Put(parser)
		if r.jsonErr != nil {
			msg := "body is not valid JSON: " + r.jsonErr.Error()
			if r.truncated {
				msg += fmt.Sprintf(" (only the first %d bytes were read)", r.bodyCap)
			}
			r.jsonErr = errors.New(msg)
		}
	}
	return r.json, r.jsonErr
}

// parsers are reused for their buffers; a Parser (without Reuse set)
// returns values that stay valid after it parses again.
var parsers = sync.Pool{New: func() any { return &oj.Parser{} }}

// jsonText renders a JSON value for comparison: strings unquoted, numbers
// as encoding/json writes them, null as "null", objects and arrays as
// compact JSON with sorted keys.
func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return oj.JSON(v, &ojg.Options{Sort: true})
}

// jsonEmpty reports whether v is "", null, [] or {}.
func jsonEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// describe renders an assertion for messages: `json_body $.data.id equals "7"`.
func describe(a check.Assertion) string {
	var b strings.Builder
	b.WriteString(string(a.Source))
	if a.Property != "" {
		b.WriteString(" " + a.Property)
	}
	b.WriteString(" " + string(a.Comparison))
	if a.Comparison.TakesTarget() {
		b.WriteString(" " + strconv.Quote(a.Target))
	}
	return b.String()
}
