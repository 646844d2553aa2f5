package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe/httpprobetest"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
)

// hostileCase is a check against a target that answers with a status line
// or text SQS cannot carry as is.
type hostileCase struct {
	id      string
	yaml    string
	inError string
	altered string
}

// `worker check` prints a result for a target that answers with an
// out-of-range status code or with text SQS refuses, and the result it
// prints is one SQS takes.
func TestWorkerCheckPrintsHostileResults(t *testing.T) {
	odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Odd", "tea\uFFFFpot")
	}))
	defer odd.Close()
	runHostile(t, []hostileCase{
		{id: "status-000", yaml: api(httpprobetest.RawTarget(t, "HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n")),
			inError: `status line "HTTP/1.1 000 X"`, altered: "http: not recorded: status code 0 is outside 100-999"},
		{id: "status-099", yaml: api(httpprobetest.RawTarget(t, "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n")),
			inError: `status line "HTTP/1.1 099 X"`, altered: "http: not recorded: status code 99 is outside 100-999"},
		{id: "header", yaml: api(odd.URL+"/") + `
    assertions:
      - { source: status_code, comparison: equals, target: 201 }`,
			altered: "http.headers[2].value: 1 character"},
	})
}

// The same for a browser check whose page puts U+FFFF/U+FFFE in its title
// and console.
func TestWorkerCheckPrintsHostileBrowserResults(t *testing.T) {
	needChromium(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `<!doctype html><title>Shop</title><script>
document.title = "Shop\uffff"; console.error("broken\uffff\ufffe");
</script><p>hi</p>`)
	}))
	defer page.Close()
	runHostile(t, []hostileCase{{
		id: "page",
		yaml: `
    type: browser
    timeout: 20s
    steps:
      - { action: goto, url: "` + page.URL + `/" }
      - { action: assert_title, matcher: equals, value: Checkout, timeout: 500ms }`,
		inError: "Shop\uFFFD", altered: "browser.console_errors[0]: 2 characters",
	}})
}

func api(url string) string {
	return `
    type: api
    request: { url: "` + url + `" }`
}

// runHostile runs each case with `worker check`, wants exit 1 (failed) and
// a printed result that says what was altered, and sends that result to
// SQS (the embedded endpoint, through the real SDK), which must take it.
func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	var b strings.Builder
	b.WriteString("checks:\n")
	for _, c := range cases {
		b.WriteString("  - id: " + c.id + "\n    every: 1m\n    locations: [local]" + c.yaml + "\n")
	}
	file := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := queuetest.Start(t)
	results := queue.New(env.Client, env.Provision(t, queue.Spec{Name: "checkfleet-results"}).URL)
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			code, stdout, stderr := workerCheck(t, "--file", file, "--id", c.id, "--allow-net", "127.0.0.0/8")
			if code != exitFailed {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, exitFailed, stdout, stderr)
			}
			res, _, err := message.DecodeResult([]byte(stdout))
			if err != nil {
				t.Fatalf("stdout is not a result: %v\n%s", err, stdout)
			}
			if res.Status != check.StatusFailed || !strings.Contains(res.Error, c.inError) {
				t.Errorf("status %s error %q, want failed with %q", res.Status, res.Error, c.inError)
			}
			found := false
			for _, n := range res.Altered {
				found = found || strings.HasPrefix(n, c.altered)
			}
			if !found {
				t.Errorf("altered %q, want a note starting %q", res.Altered, c.altered)
			}
			if _, err := results.Send(context.Background(), queue.Outgoing{Body: []byte(stdout),
				Attributes: map[string]string{message.SchemaAttribute: message.ResultV2}}); err != nil {
				t.Errorf("SQS does not take the printed result: %v", err)
			}
		})
	}
}
