package sqslocal

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestJSONStringsRoundTrip checks the writer's escaping and the reader's
// unescaping against encoding/json, on strings rich in the characters that
// need care.
func TestJSONStringsRoundTrip(t *testing.T) {
	alphabet := []string{"a", "Z", " ", "\"", "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "日", "🚀", "\ufffd", "\xff", "\xe2\x82", "/", "<"}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "plain", strings.Repeat("x", 64) + "\"" + strings.Repeat("y", 7), strings.Repeat("abcdefg\\", 9)}
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(40) {
			if rng.IntN(3) == 0 {
				sb.WriteString(strings.Repeat("k", rng.IntN(20)))
			}
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, sb.String())
	}
	for _, s := range cases {
		enc := appendJSONString(nil, s)
		var want string
		if err := json.Unmarshal(enc, &want); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, enc, err)
		}
		if clean := strings.ToValidUTF8(s, "\ufffd"); want != clean && want != string([]rune(s)) {
			t.Fatalf("%q round-tripped to %q", s, want)
		}
		std, _ := json.Marshal(s)
		r := jsonReader{b: std}
		got, ok := r.str()
		if !ok || r.err != nil || got != want {
			t.Fatalf("reader decoded %s as %q (%v), encoding/json as %q", std, got, r.err, want)
		}
	}
}

func TestJSONReaderNumbersAndLiterals(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{{"0", 0, true}, {"-7", -7, true}, {"43200", 43200, true}, {"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false}, {"01", 0, false}, {"1.0", 0, false}, {"1e3", 0, false}, {"-", 0, false}, {`"1"`, 0, false}, {"true", 0, false}} {
		r := jsonReader{b: []byte(tt.in)}
		v, ok := r.int()
		if ok != tt.ok || (ok && v != tt.want) || (r.err == nil) != tt.ok {
			t.Errorf("int(%s) = %d, %v, %v", tt.in, v, ok, r.err)
		}
	}
	r := jsonReader{b: []byte(`{"a":[1,-2.5e-3,{"b":null},true,false,"x"],"c":{}}`)}
	if err := r.document(func([]byte) { r.skip() }); err != nil {
		t.Fatal(err)
	}
}
