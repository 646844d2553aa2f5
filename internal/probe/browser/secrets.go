package browser

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/checkfleet/checkfleet/internal/check"
)

// secretRef matches a reference to a secret: ${{ env.NAME }}.
var secretRef = regexp.MustCompile(`\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// redacted replaces a secret's value wherever it would show.
const redacted = "***"

// UnsetSecretError is the error of a check naming a secret the worker's
// environment does not hold.
type UnsetSecretError struct {
	// Name is the variable, e.g. "LOGIN_PASSWORD".
	Name string
	// Step is the 1-based index of the first step naming it.
	Step int
	// Field is where the step names it: "value", "url" or "script".
	Field string
}

// Error names the variable and where it is used, never a value.
func (e *UnsetSecretError) Error() string {
	return fmt.Sprintf("secret ${{ env.%s }} in step %d %s is not set in the worker's environment", e.Name, e.Step, e.Field)
}

// secrets holds the resolved steps of one check and the values to redact.
type secrets struct {
	values []string // resolved values, longest first, so a value inside another is not half-redacted
}

// resolveSecrets returns steps with every ${{ env.NAME }} in Value, URL and
// Script replaced by lookup(NAME), and the values found, for redaction. A
// name lookup does not find is an *UnsetSecretError.
func resolveSecrets(steps []check.Step, lookup func(string) (string, bool)) ([]check.Step, *secrets, error) {
	out := slices.Clone(steps)
	sec := &secrets{}
	for i := range out {
		for _, f := range []struct {
			name string
			v    *string
		}{{"value", &out[i].Value}, {"url", &out[i].URL}, {"script", &out[i].Script}} {
			if !strings.Contains(*f.v, "${{") {
				continue
			}
			var missing string
			*f.v = secretRef.ReplaceAllStringFunc(*f.v, func(ref string) string {
				name := secretRef.FindStringSubmatch(ref)[1]
				v, ok := lookup(name)
				if !ok {
					if missing == "" {
						missing = name
					}
					return ref
				}
				sec.add(v)
				return v
			})
			if missing != "" {
				return nil, nil, &UnsetSecretError{Name: missing, Step: i + 1, Field: f.name}
			}
		}
	}
	slices.SortFunc(sec.values, func(a, b string) int { return len(b) - len(a) })
	return out, sec, nil
}

// add remembers v, and the forms a URL gives it, for redaction.
func (s *secrets) add(v string) {
	if v == "" {
		return
	}
	for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
		if !slices.Contains(s.values, form) {
			s.values = append(s.values, form)
		}
	}
}

// usesSecret reports whether s names a secret.
func usesSecret(s string) bool { return secretRef.MatchString(s) }

// redact replaces every secret value in s with ***.
func (s *secrets) redact(v string) string {
	if s == nil {
		return v
	}
	for _, sec := range s.values {
		if strings.Contains(v, sec) {
			v = strings.ReplaceAll(v, sec, redacted)
		}
	}
	return v
}

// redactResult removes every secret value from the text of r: the error,
// the steps, console messages, failed requests and the navigation URL. The
// steps already show secrets as their references; this is the net under
// what a page echoes back (a URL with a token in its query, a console
// message quoting a field).
func (s *secrets) redactResult(r *check.Result) {
	if s == nil || len(s.values) == 0 {
		return
	}
	r.Error = s.redact(r.Error)
	b := r.Browser
	if b == nil {
		return
	}
	for i := range b.Steps {
		b.Steps[i].Target = s.redact(b.Steps[i].Target)
		b.Steps[i].Error = s.redact(b.Steps[i].Error)
	}
	for i := range b.ConsoleErrors {
		b.ConsoleErrors[i] = s.redact(b.ConsoleErrors[i])
	}
	for i := range b.FailedRequests {
		b.FailedRequests[i].URL = s.redact(b.FailedRequests[i].URL)
		b.FailedRequests[i].Error = s.redact(b.FailedRequests[i].Error)
	}
	if b.Navigation != nil {
		b.Navigation.URL = s.redact(b.Navigation.URL)
	}
}
