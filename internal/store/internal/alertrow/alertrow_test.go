package alertrow

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/checkfleet/checkfleet/internal/store"
)

func TestErrorText(t *testing.T) {
	for name, in := range map[string]string{
		"short":           "503 Service Unavailable",
		"NUL":             "got \x00 in the answer",
		"invalid UTF-8":   "got \xff\xfe",
		"long, multibyte": strings.Repeat("日本", store.MaxErrorLen),
	} {
		got := ErrorText(in)
		if len(got) > store.MaxErrorLen || !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Errorf("%s: ErrorText = %d bytes, valid %v, NUL %v; want at most %d valid bytes without NUL",
				name, len(got), utf8.ValidString(got), strings.ContainsRune(got, 0), store.MaxErrorLen)
		}
	}
	if got := ErrorText("503 Service Unavailable"); got != "503 Service Unavailable" {
		t.Errorf("a short error became %q", got)
	}
}
