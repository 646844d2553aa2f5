package check

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		cmp            Comparison
		actual, target string
		want           bool
		err            string // substring; "" means no error
		bad            bool   // error wraps ErrBadDefinition
	}{
		{cmp: Equals, actual: "200", target: "200", want: true},
		{cmp: Equals, actual: "201", target: "200"},
		{cmp: Equals, actual: "200.0", target: "200", want: true},
		{cmp: Equals, actual: "1e3", target: "1000", want: true},
		{cmp: Equals, actual: "OK", target: "ok"},
		{cmp: Equals, actual: "", target: "", want: true},
		{cmp: NotEquals, actual: "201", target: "200", want: true},
		{cmp: NotEquals, actual: "200", target: "200.00"},
		{cmp: Contains, actual: "hello world", target: "o w", want: true},
		{cmp: Contains, actual: "hello", target: "world"},
		{cmp: NotContains, actual: "hello", target: "world", want: true},
		{cmp: NotContains, actual: "hello world", target: "world"},
		{cmp: LessThan, actual: "99", target: "100", want: true},
		{cmp: LessThan, actual: "100", target: "100"},
		{cmp: LessThan, actual: "-1.5", target: "0", want: true},
		{cmp: LessThan, actual: " 12 ", target: "13", want: true},
		{cmp: GreaterThan, actual: "101", target: "100", want: true},
		{cmp: GreaterThan, actual: "9", target: "10"}, // numeric, not lexical
		{cmp: GreaterThan, actual: "abc", target: "10", err: `greater_than needs a number, got "abc"`},
		{cmp: LessThan, actual: "NaN", target: "10", err: "needs a number"},
		{cmp: LessThan, actual: "1", target: "ten", err: `less_than target "ten" is not a number`, bad: true},
		{cmp: IsEmpty, actual: "", want: true},
		{cmp: IsEmpty, actual: " \n\t", want: true},
		{cmp: IsEmpty, actual: "x"},
		{cmp: NotEmpty, actual: "x", want: true},
		{cmp: NotEmpty, actual: "  "},
		{cmp: Matches, actual: "order-1234", target: `^order-\d+$`, want: true},
		{cmp: Matches, actual: "xx order-1234 yy", target: `order-\d+`, want: true},
		{cmp: Matches, actual: "order-abc", target: `^order-\d+$`},
		{cmp: Matches, actual: "x", target: `(`, err: "invalid regular expression", bad: true},
		{cmp: HasKey, actual: "{}", target: "a", err: "json_body and headers only", bad: true},
		{cmp: "roughly", actual: "a", target: "a", err: `unknown comparison "roughly"`, bad: true},
	}
	for _, tt := range tests {
		name := string(tt.cmp) + "/" + tt.actual + "/" + tt.target
		t.Run(name, func(t *testing.T) {
			got, err := tt.cmp.Compare(tt.actual, tt.target)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Compare = %v, %v; want error containing %q", got, err, tt.err)
				}
				if errors.Is(err, ErrBadDefinition) != tt.bad {
					t.Fatalf("errors.Is(%v, ErrBadDefinition) = %v, want %v", err, !tt.bad, tt.bad)
				}
				if got {
					t.Fatal("Compare passed while returning an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Compare: unexpected error %v", err)
			}
			if got != tt.want {
				t.Fatalf("Compare = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTruncateActual(t *testing.T) {
	long := strings.Repeat("é", MaxActual) // 2 bytes each
	got := TruncateActual(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > MaxActual+len("…") {
		t.Fatalf("TruncateActual(long) = %q (%d bytes)", got, len(got))
	}
	if got := TruncateActual("short"); got != "short" {
		t.Fatalf("TruncateActual(short) = %q", got)
	}
	if got := TruncateActual("a\xffb"); got != "a\uFFFDb" {
		t.Fatalf("TruncateActual(invalid UTF-8) = %q", got)
	}
}
