package httpprobe

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ohler55/ojg"
	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"

	"github.com/checkfleet/checkfleet/internal/check"
)

// ErrBadDefinition marks an assertion that no response could satisfy or
// fail because the assertion itself is wrong: an invalid regular expression
// or JSONPath, a target that is not a number for less_than, an unknown
// comparison. A probe meeting one ends in status error, not failed.
var ErrBadDefinition = errors.New("bad definition")

// MaxActual is how many bytes of a value read from a response an
// AssertionResult keeps in Actual; longer values are cut at a character
// boundary and end in "…". Comparisons always see the whole value.
const MaxActual = 256

// Compare reports whether actual relates to target as comparison says. It
// is the comparison logic of api check assertions, on text, so that other
// probes (browser assertions) judge the same way:
//
//   - equals, not_equals: the same text, or both numbers of equal value
//     ("200" equals "200.0");
//   - contains, not_contains: substring;
//   - less_than, greater_than: both must parse as finite numbers; a target
//     that does not is a bad definition, an actual that does not is an
//     error (the assertion fails);
//   - is_empty, not_empty: empty or only white space; target is ignored;
//   - matches: target is an RE2 expression (Go regexp syntax) searched for
//     anywhere in actual; anchor it with ^ and $ to match the whole value.
//
// has_key needs a JSON value and is a bad definition here, as is an unknown
// comparison. Errors wrapping ErrBadDefinition are the definition's fault;
// other errors are the value's.
func Compare(comparison check.Comparison, actual, target string) (bool, error) {
	switch comparison {
	case check.Equals:
		return equal(actual, target), nil
	case check.NotEquals:
		return !equal(actual, target), nil
	case check.Contains:
		return strings.Contains(actual, target), nil
	case check.NotContains:
		return !strings.Contains(actual, target), nil
	case check.LessThan, check.GreaterThan:
		t, ok := number(target)
		if !ok {
			return false, fmt.Errorf("%w: %s target %q is not a number", ErrBadDefinition, comparison, target)
		}
		a, ok := number(actual)
		if !ok {
			return false, fmt.Errorf("%s needs a number, got %q", comparison, truncate(actual))
		}
		if comparison == check.LessThan {
			return a < t, nil
		}
		return a > t, nil
	case check.IsEmpty:
		return strings.TrimSpace(actual) == "", nil
	case check.NotEmpty:
		return strings.TrimSpace(actual) != "", nil
	case check.Matches:
		re, err := regexp.Compile(target)
		if err != nil {
			return false, fmt.Errorf("%w: invalid regular expression %q: %v", ErrBadDefinition, target, err)
		}
		return re.MatchString(actual), nil
	case check.HasKey:
		return false, fmt.Errorf("%w: has_key applies to json_body and headers only", ErrBadDefinition)
	}
	return false, fmt.Errorf("%w: unknown comparison %q", ErrBadDefinition, comparison)
}

func equal(a, b string) bool {
	if a == b {
		return true
	}
	x, ok1 := number(a)
	y, ok2 := number(b)
	return ok1 && ok2 && x == y
}

func number(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

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
// first problem: an error wrapping ErrBadDefinition if any assertion is
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
		case errors.Is(err, ErrBadDefinition):
			if bad == nil {
				bad = fmt.Errorf("%w: assertion %d (%s): %s", ErrBadDefinition, i+1, describe(a), strings.TrimPrefix(why, ErrBadDefinition.Error()+": "))
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
			res.Actual = truncate(strings.Join(r.header.Values(a.Target), ", "))
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
		err := fmt.Errorf("%w: unknown source %q", ErrBadDefinition, a.Source)
		res.Error = err.Error()
		return res, err
	}
	return compare(res, actual)
}

// compare finishes res with the comparison of actual against its target.
func compare(res check.AssertionResult, actual string) (check.AssertionResult, error) {
	res.Actual = truncate(actual)
	ok, err := Compare(res.Assertion.Comparison, actual, res.Assertion.Target)
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
		err = fmt.Errorf("%w: invalid JSONPath %q: %v", ErrBadDefinition, path, err)
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
		res.Actual = truncate(actual)
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
		res.Actual = truncate(actual)
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

// truncate returns at most MaxActual bytes of s, valid UTF-8, as a copy
// (so a Result never pins a whole response body).
func truncate(s string) string {
	if len(s) > MaxActual {
		cut := MaxActual
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strings.ToValidUTF8(s[:cut], "\uFFFD") + "…" // concatenation copies
	}
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
