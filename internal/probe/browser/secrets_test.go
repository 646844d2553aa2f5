package browser

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestResolveSecrets(t *testing.T) {
	env := lookupIn(map[string]string{"PASS": "p@ss word", "TOKEN": "t0k", "EMPTY": ""})
	tests := []struct {
		name    string
		step    check.Step
		want    check.Step
		unset   *UnsetSecretError
		redacts []string
	}{
		{"value", check.Step{Value: "${{ env.PASS }}"}, check.Step{Value: "p@ss word"}, nil, []string{"p@ss word", "p%40ss+word", "p@ss%20word"}},
		{"no spaces, twice, in a url", check.Step{URL: "https://x/?a=${{env.TOKEN}}&b=${{ env.TOKEN }}"},
			check.Step{URL: "https://x/?a=t0k&b=t0k"}, nil, []string{"t0k"}},
		{"script", check.Step{Script: `login("${{ env.PASS }}")`}, check.Step{Script: `login("p@ss word")`}, nil, nil},
		{"empty value resolves, nothing to redact", check.Step{Value: "[${{ env.EMPTY }}]"}, check.Step{Value: "[]"}, nil, nil},
		{"selector and key untouched", check.Step{Selector: "${{ env.PASS }}", Key: "${{ env.PASS }}"},
			check.Step{Selector: "${{ env.PASS }}", Key: "${{ env.PASS }}"}, nil, nil},
		{"not a reference", check.Step{Value: "${{ ENV.PASS }} ${ env.PASS }"}, check.Step{Value: "${{ ENV.PASS }} ${ env.PASS }"}, nil, nil},
		{"unset", check.Step{URL: "https://x/${{ env.NOPE }}"}, check.Step{}, &UnsetSecretError{Name: "NOPE", Step: 2, Field: "url"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := []check.Step{{Action: check.ActionSleep}, tt.step}
			got, sec, err := resolveSecrets(steps, env)
			if tt.unset != nil {
				var u *UnsetSecretError
				if !errors.As(err, &u) || *u != *tt.unset {
					t.Fatalf("error %v, want %v", err, tt.unset)
				}
				if want := "secret ${{ env.NOPE }} in step 2 url is not set in the worker's environment"; err.Error() != want {
					t.Errorf("error text %q, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got[1] != tt.want {
				t.Errorf("resolved %+v, want %+v", got[1], tt.want)
			}
			if steps[1] != tt.step {
				t.Error("the definition was modified")
			}
			for _, v := range tt.redacts {
				if r := sec.redact("before " + v + " after"); r != "before *** after" {
					t.Errorf("redact(%q) = %q", v, r)
				}
			}
		})
	}
}

// Secrets run in the page but never show in a result: the step targets
// keep the references, and what the page echoes (a URL, a console message,
// a failed assertion quoting the value) is redacted. An unset secret is an
// error that names it, and nothing runs.
func TestSecretsNeverInResults(t *testing.T) {
	s := newSite(t)
	env := map[string]string{"LOGIN_PASSWORD": "s3cret!pw", "TRACKING": "trk-7Q9x"}
	p, _ := startProber(t, func(o *Options) { o.Env = lookupIn(env) })
	c := browserCheck("secret", 15*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/login?t=${{ env.TRACKING }}"},
		check.Step{Action: check.ActionFill, Selector: "#user", Value: "alice"},
		check.Step{Action: check.ActionFill, Selector: "#password", Value: "${{ env.LOGIN_PASSWORD }}"},
		check.Step{Action: check.ActionEval, Script: `console.error("typed " + document.getElementById("password").value + " at " + location.href), true`},
		check.Step{Action: check.ActionScreenshot},
		check.Step{Action: check.ActionClick, Selector: "#submit"},
		check.Step{Action: check.ActionAssertText, Selector: "#greeting", Matcher: check.MatchContains, Value: "Welcome, alice"},
		check.Step{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "${{ env.TRACKING }}", Timeout: 500 * time.Millisecond},
	)
	res := p.Probe(context.Background(), c)
	if res.Status != check.StatusFailed || len(res.Browser.Steps) != 8 {
		t.Fatalf("want the login to pass and the last assertion to fail: %s", describe(res))
	}
	if got := res.Browser.Steps[0].Target; got != s.URL+"/login?t=${{ env.TRACKING }}" {
		t.Errorf("goto target %q, want the reference", got)
	}
	if !strings.Contains(strings.Join(res.Browser.ConsoleErrors, "\n"), "typed *** at") {
		t.Errorf("console errors %q: want the echoed password redacted", res.Browser.ConsoleErrors)
	}
	if !strings.Contains(res.Error, `expected the title to equal "***"`) {
		t.Errorf("error %q: want the expected value redacted", res.Error)
	}
	res.Browser.Screenshot = nil // an image; the password field shows dots anyway
	text, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range env {
		if strings.Contains(string(text), v) {
			t.Errorf("the value of %s is in the result: %s", name, text)
		}
	}

	unset := browserCheck("unset", 5*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/login"},
		check.Step{Action: check.ActionFill, Selector: "#password", Value: "${{ env.NOT_THERE }}"})
	res = p.Probe(context.Background(), unset)
	if res.Status != check.StatusError || !strings.Contains(res.Error, "${{ env.NOT_THERE }} in step 2 value is not set") {
		t.Errorf("want an error naming the unset secret: %s", describe(res))
	}
	if res.Browser != nil {
		t.Errorf("steps ran with a secret missing: %s", describe(res))
	}
}
