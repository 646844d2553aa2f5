package chaos

import (
	"fmt"
	"strings"
)

// Location is the one location of the suite; its jobs queue is
// checkfleet-jobs-chaos.
const Location = "chaos"

// Load is the mix of checks the scheduler runs during the suite.
type Load struct {
	// Fast API checks every 10 s that pass at once.
	Fast int
	// Slow API checks every 20 s whose target takes 4 s.
	Slow int
	// Browser checks every 30 s; half of them fail on purpose.
	Browser int
}

// DefaultLoad is about two runs a second.
var DefaultLoad = Load{Fast: 12, Slow: 2, Browser: 2}

// ChecksFile renders the checks file of the load against targets: fast,
// slow, failing (an HTTP 500, a refused connection), hostile (every
// answer of the hostile target, issue 11 item 3) and browser checks.
func ChecksFile(l Load, tg Targets) string {
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  every: 10s\n  locations: [%s]\n  timeout: 10s\n  tags: [chaos]\n\nchecks:\n", Location)
	api := func(id, every, timeout, url string) {
		fmt.Fprintf(&b, "  - id: %s\n    type: api\n    every: %s\n    timeout: %s\n    request:\n      url: %q\n", id, every, timeout, url)
	}
	for i := range l.Fast {
		api(fmt.Sprintf("api-fast-%02d", i), "10s", "10s", fmt.Sprintf("%s/fast?n=%d", tg.Site, i))
	}
	for i := range l.Slow {
		api(fmt.Sprintf("api-slow-%02d", i), "20s", "15s", tg.Site+"/slow")
	}
	api("api-fail-500", "10s", "10s", tg.Site+"/fail")
	b.WriteString("    assertions:\n      - { source: status_code, comparison: equals, target: 200 }\n")
	api("api-fail-refused", "10s", "5s", tg.Closed)
	for _, p := range HostilePaths() {
		api("hostile"+strings.ReplaceAll(p, "/", "-"), "10s", "10s", tg.Hostile+p)
	}
	for i := range l.Browser {
		want := "Chaos"
		if i%2 == 1 {
			want = "Not the title" // fails on purpose
		}
		fmt.Fprintf(&b, "  - id: browser-%02d\n    type: browser\n    every: 30s\n    timeout: 30s\n    steps:\n"+
			"      - { action: goto, url: %q }\n      - { action: assert_title, value: %q }\n", i, tg.Site+"/page", want)
	}
	return b.String()
}

// IdleChecksFile is what the scheduler is reloaded with to end the load:
// one check due once a day, so nothing new is planned while the system
// settles (and a run that does fall due is judged like any other).
func IdleChecksFile(tg Targets) string {
	return fmt.Sprintf("checks:\n  - id: idle\n    type: api\n    every: 24h\n    locations: [%s]\n    request:\n      url: %q\n", Location, tg.Site+"/fast")
}
