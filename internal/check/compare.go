package check

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrBadDefinition marks an assertion or step that no response or page
// could satisfy or fail because it is itself wrong: an invalid regular
// expression or JSONPath, a target that is not a number for less_than, an
// unknown comparison. A probe meeting one ends in status error, not failed.
var ErrBadDefinition = errors.New("bad definition")

// MaxActual is how many bytes of a value read from a response an
// AssertionResult keeps in Actual; longer values are cut at a character
// boundary and end in "…" (TruncateActual). Comparisons always see the
// whole value.
const MaxActual = 256

// Compare reports whether actual relates to target as c says. It is the
// meaning of a comparison on text, shared by every probe (api check
// assertions, browser assert_* steps), so they judge alike:
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
// has_key needs a JSON value or headers and is a bad definition here, as is
// an unknown comparison. Errors wrapping ErrBadDefinition are the
// definition's fault; other errors are the value's.
func (c Comparison) Compare(actual, target string) (bool, error) {
	switch c {
	case Equals:
		return equal(actual, target), nil
	case NotEquals:
		return !equal(actual, target), nil
	case Contains:
		return strings.Contains(actual, target), nil
	case NotContains:
		return !strings.Contains(actual, target), nil
	case LessThan, GreaterThan:
		t, ok := number(target)
		if !ok {
			return false, fmt.Errorf("%w: %s target %q is not a number", ErrBadDefinition, c, target)
		}
		a, ok := number(actual)
		if !ok {
			return false, fmt.Errorf("%s needs a number, got %q", c, TruncateActual(actual))
		}
		if c == LessThan {
			return a < t, nil
		}
		return a > t, nil
	case IsEmpty:
		return strings.TrimSpace(actual) == "", nil
	case NotEmpty:
		return strings.TrimSpace(actual) != "", nil
	case Matches:
		re, err := regexp.Compile(target)
		if err != nil {
			return false, fmt.Errorf("%w: invalid regular expression %q: %v", ErrBadDefinition, target, err)
		}
		return re.MatchString(actual), nil
	case HasKey:
		return false, fmt.Errorf("%w: has_key applies to json_body and headers only", ErrBadDefinition)
	}
	return false, fmt.Errorf("%w: unknown comparison %q", ErrBadDefinition, c)
}

// TruncateActual returns at most MaxActual bytes of s, valid UTF-8, as a
// copy (so a Result never pins a whole response body).
func TruncateActual(s string) string {
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
