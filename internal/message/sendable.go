package message

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/checkfleet/checkfleet/internal/check"
)

// A result records text a target chose: headers, titles, console lines,
// body excerpts, certificate names. SQS takes only some characters in a
// message (Sendable), so the result codecs pass every string through
// MakeSendable and list in Result.Altered what they changed. Status codes
// the wire cannot carry are left out the same way, with a note. Nothing a
// target sends can then make a result impossible to encode or send.

// Sendable reports whether s is valid UTF-8 made only of characters SQS
// accepts in a message body or string attribute: #x9 | #xA | #xD |
// #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func Sendable(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !sendableRune(r, size) {
			return false
		}
		i += size
	}
	return true
}

// MakeSendable returns s with every character SQS refuses and every
// invalid UTF-8 sequence (each byte of it) replaced by U+FFFD, and how many
// were replaced.
func MakeSendable(s string) (string, int) {
	if Sendable(s) {
		return s, 0
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || !sendableRune(r, size) {
			b.WriteRune(utf8.RuneError)
			n++
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String(), n
}

// sendableRune judges a decoded non-ASCII rune; size 1 with RuneError is an
// invalid byte. Surrogates never decode from valid UTF-8.
func sendableRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return false
	case r == 0xFFFE || r == 0xFFFF:
		return false
	}
	return true
}

// maxAlteredNotes bounds Result.Altered: past it, one last note counts the
// fields not named.
const maxAlteredNotes = 20

// sendableResult returns r with every string made sendable and every status
// code outside 100-999 left out (the whole of HTTP for its status code),
// each change noted in Altered. r itself is not modified: what would change
// is copied first. Notes already in r.Altered are kept, made sendable
// without a note of their own.
func sendableResult(r check.Result) check.Result {
	if resultSendable(&r) {
		return r
	}
	r = cloneResult(r)
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	if h := r.HTTP; h != nil && !wireStatusCode(h.StatusCode, false) {
		note("http: not recorded: status code %d is outside 100-999", h.StatusCode)
		r.HTTP = nil
	}
	if b := r.Browser; b != nil {
		for i := range b.Steps {
			if s := &b.Steps[i]; !wireStatusCode(s.StatusCode, true) {
				note("browser.steps[%d].status_code: not recorded: %d is outside 100-999", i, s.StatusCode)
				s.StatusCode = 0
			}
		}
		for i := range b.FailedRequests {
			if f := &b.FailedRequests[i]; !wireStatusCode(f.StatusCode, true) {
				note("browser.failed_requests[%d].status_code: not recorded: %d is outside 100-999", i, f.StatusCode)
				f.StatusCode = 0
			}
		}
	}
	eachString(&r, func(s *string, path func() string) {
		if clean, n := MakeSendable(*s); n > 0 {
			*s = clean
			note("%s: %d %s SQS cannot carry replaced with U+FFFD", path(), n, plural(n, "character", "characters"))
		}
	})
	for i, s := range r.Altered {
		r.Altered[i], _ = MakeSendable(s)
	}
	if len(notes) > maxAlteredNotes {
		notes = append(notes[:maxAlteredNotes], fmt.Sprintf("and %d more fields", len(notes)-maxAlteredNotes))
	}
	r.Altered = append(r.Altered, notes...)
	return r
}

// resultSendable reports whether sendableResult would change nothing.
func resultSendable(r *check.Result) bool {
	ok := true
	eachString(r, func(s *string, _ func() string) { ok = ok && Sendable(*s) })
	for _, s := range r.Altered {
		ok = ok && Sendable(s)
	}
	if !ok || (r.HTTP != nil && !wireStatusCode(r.HTTP.StatusCode, false)) {
		return false
	}
	if b := r.Browser; b != nil {
		for _, s := range b.Steps {
			if !wireStatusCode(s.StatusCode, true) {
				return false
			}
		}
		for _, f := range b.FailedRequests {
			if !wireStatusCode(f.StatusCode, true) {
				return false
			}
		}
	}
	return true
}

// wireStatusCode reports whether the wire carries code: 100-999, or 0 for
// "none" where the field is optional.
func wireStatusCode(code int, optional bool) bool {
	return (optional && code == 0) || (code >= 100 && code <= 999)
}

// eachString calls f with every string field of r (Altered excepted) and
// its wire path, computed only when asked for.
func eachString(r *check.Result, f func(s *string, path func() string)) {
	at := func(p string) func() string { return func() string { return p } }
	idx := func(format string, i int) func() string { return func() string { return fmt.Sprintf(format, i) } }
	f(&r.RunID, at("run_id"))
	f(&r.CheckID, at("check_id"))
	f(&r.Location, at("location"))
	f(&r.Error, at("error"))
	if h := r.HTTP; h != nil {
		for i := range h.Headers {
			f(&h.Headers[i].Name, idx("http.headers[%d].name", i))
			f(&h.Headers[i].Value, idx("http.headers[%d].value", i))
		}
		if t := h.TLS; t != nil {
			f(&t.Version, at("http.tls.version"))
			f(&t.CipherSuite, at("http.tls.cipher_suite"))
			f(&t.ServerName, at("http.tls.server_name"))
			f(&t.CertSubject, at("http.tls.cert_subject"))
			f(&t.CertIssuer, at("http.tls.cert_issuer"))
		}
	}
	for i := range r.Assertions {
		a := &r.Assertions[i]
		f(&a.Assertion.Property, idx("assertions[%d].property", i))
		f(&a.Assertion.Target, idx("assertions[%d].target", i))
		f(&a.Actual, idx("assertions[%d].actual", i))
		f(&a.Error, idx("assertions[%d].error", i))
	}
	if b := r.Browser; b != nil {
		for i := range b.Steps {
			f(&b.Steps[i].Target, idx("browser.steps[%d].target", i))
			f(&b.Steps[i].Error, idx("browser.steps[%d].error", i))
		}
		for i := range b.ConsoleErrors {
			f(&b.ConsoleErrors[i], idx("browser.console_errors[%d]", i))
		}
		for i := range b.FailedRequests {
			fr := &b.FailedRequests[i]
			f(&fr.URL, idx("browser.failed_requests[%d].url", i))
			f(&fr.Method, idx("browser.failed_requests[%d].method", i))
			f(&fr.Error, idx("browser.failed_requests[%d].error", i))
		}
		if n := b.Navigation; n != nil {
			f(&n.URL, at("browser.navigation_ms.url"))
		}
	}
	f(&r.Worker.ID, at("worker.id"))
	f(&r.Worker.Version, at("worker.version"))
	f(&r.Worker.Image, at("worker.image"))
	f(&r.Worker.Host, at("worker.host"))
}

// cloneResult copies everything of r that sendableResult may change.
func cloneResult(r check.Result) check.Result {
	r.Assertions = slices.Clone(r.Assertions)
	r.Altered = slices.Clone(r.Altered)
	if r.HTTP != nil {
		h := *r.HTTP
		h.Headers = slices.Clone(h.Headers)
		if h.TLS != nil {
			t := *h.TLS
			h.TLS = &t
		}
		r.HTTP = &h
	}
	if r.Browser != nil {
		b := *r.Browser
		b.Steps = slices.Clone(b.Steps)
		b.ConsoleErrors = slices.Clone(b.ConsoleErrors)
		b.FailedRequests = slices.Clone(b.FailedRequests)
		if b.Navigation != nil {
			n := *b.Navigation
			b.Navigation = &n
		}
		r.Browser = &b
	}
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// maxErrorResultText bounds the reason an ErrorResult carries.
const maxErrorResultText = 4 << 10

// ErrorResult returns the smallest result that answers r's run: its
// identity (run, check, location, attempt, times, worker), status error and
// reason, made sendable and cut to a few KiB. A worker sends it when r
// itself cannot be encoded or sent, so the run still gets exactly one
// recorded result. Identity fields that are missing are filled with
// placeholders the decoder accepts.
func ErrorResult(r check.Result, reason string) check.Result {
	if reason == "" {
		reason = "the result could not be recorded"
	}
	if len(reason) > maxErrorResultText {
		reason = truncateUTF8(reason, maxErrorResultText) + "…"
	}
	e := check.Result{
		RunID: r.RunID, CheckID: r.CheckID, Location: r.Location, Attempt: max(r.Attempt, 1),
		ScheduledAt: r.ScheduledAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Status: check.StatusError, Error: reason,
		Timings: check.Timings{Total: max(r.Timings.Total, 0)},
		Worker:  r.Worker,
	}
	e.FinishedAt = firstTime(e.FinishedAt, e.StartedAt, time.Now())
	e.StartedAt = firstTime(e.StartedAt, e.FinishedAt)
	e.ScheduledAt = firstTime(e.ScheduledAt, e.StartedAt)
	for _, s := range []*string{&e.Location, &e.Worker.ID, &e.Worker.Version} {
		if *s == "" {
			*s = "unknown"
		}
	}
	return sendableResult(e)
}

// firstTime returns the first of ts that the wire carries.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() && timeInRange(t) {
			return t
		}
	}
	return time.Time{}
}

// truncateUTF8 cuts s to at most n bytes at a character boundary.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
