// Package browser runs browser checks: a script of steps (goto, click,
// fill, assertions, ...) in headless Chromium through chromedp, returning a
// check.Result with every step, the page's console errors and failed
// requests, its Navigation Timing and, on failure, a screenshot.
//
// # One browser, a fresh context per check
//
// A Prober owns one Chromium process, started by New in the background
// (Ready reports an error until it answers) and shared by every check. Each
// check runs in a browser context of its own (Target.createBrowserContext):
// no cookies, storage, cache or connections are shared with any other check,
// and the context is disposed of after the check, whatever happened. Making
// a context costs Chromium a window and a renderer process (some 250 ms on
// two cores), so the prober keeps SpareTabs (by default Concurrency) fresh,
// never-used contexts ready, and makes the next only once the check that
// took one has ended, so that the making does not slow that check down.
//
// At most Options.Concurrency checks run at once; more wait for a slot
// within their timeout.
//
// # Crashes, hangs, recycling, processes
//
// If Chromium dies, or stops answering (a health ping every HealthInterval,
// and one after any step that ran out of time), the checks on it end in
// status error, the browser is killed and started again (at once after a
// long life, with exponential backoff after quick failures), and the next
// check runs normally. After RecycleAfterChecks checks, or when its memory
// passes RecycleAfterBytes, the browser is replaced between checks: the
// check that reaches the count still runs, no later one starts there, the
// replacement starts at once, and the old browser is closed when its last
// check ends. Memory is the proportional set size (PSS, from
// /proc/PID/smaps_rollup) summed over Chromium's processes; summing RSS
// would count the pages the zygote shares with every renderer once per
// process and read three times too high.
//
// Chromium starts in a process group of its own, with Pdeathsig so the
// kernel kills it if the worker dies. Its crash handler double-forks into a
// session of its own; it is found by the instance's private directory in
// its command line. Closing a browser kills the group and the handlers and
// reaps them: New makes the worker a child subreaper, so the processes a
// dying browser orphans are reparented to the worker, not to PID 1 (which
// in a container without an init may be the worker itself, never reaping
// them). No Chromium process, zombie or not, outlives a check, a crash or
// Close.
//
// # The network guard
//
// Every request a page makes, documents, subresources, redirects, fetch and
// XHR, websockets, goes through an HTTP proxy the Prober runs on
// 127.0.0.1:0 (Chromium: --proxy-server, and --proxy-bypass-list=<-loopback>
// so even loopback goes through it). The proxy dials through the worker's
// netguard.Policy: plain http in absolute form, https and ws/wss through
// CONNECT. A refused address is never connected to. A refused subresource
// is listed in the result's FailedRequests with the guard's reason
// ("net::ERR_TUNNEL_CONNECTION_FAILED: connect 127.0.0.1:443: network guard
// refused 127.0.0.1: loopback ...") and does not fail the check; a refused
// page (a goto) ends the check in status error, as httpprobe does, since it
// is the operator's policy and not the target that stopped it.
//
// The proxy serves only the browser contexts of its own Chromium: each
// context gets a random session id and secret that the proxy demands as
// Proxy-Authorization. Chromium learns them once per context: the new page
// requests the proxy's own host (checkfleet-proxy.invalid, answered by the
// proxy and never resolved), Chromium answers the 407 through
// Fetch.authRequired with the credentials, and from then on sends them with
// every request of that context, workers and frames included; the
// interception is turned off again. Anything else connecting to the port,
// including Chromium's own background traffic from its default context,
// gets 407 and goes nowhere. The credentials never appear on a command
// line. Chromium also resolves no names itself (--host-resolver-rules),
// sends no UDP around the proxy (WebRTC policy disable_non_proxied_udp, no
// QUIC), and runs with the background services that phone home turned off.
//
// Through the proxy, Navigation Timing's DNS is zero (the proxy resolves);
// for https its Connect and TLS include the proxy dialling the target.
//
// # Sandbox
//
// Chromium's sandbox needs unprivileged user namespaces, which Docker's
// default seccomp profile denies, and it refuses to run as root; so by
// default the prober passes --no-sandbox and relies on the worker's
// container (a non-root user, no capabilities) and the network guard.
// Options.Sandbox turns the sandbox on where user namespaces are
// available. Chromium gets only a minimal environment (PATH, a HOME of its
// own, TMPDIR, locale), never the worker's credentials.
//
// # Steps
//
// Selectors are CSS (document.querySelector; an invalid one is a bad
// definition, status error). Waiting steps look at the page every 50 ms
// until their condition holds or their timeout ends: Step.Timeout, or
// StepTimeout (10 s), within what is left of the check's timeout. Visible
// means Playwright's: a non-empty box and not visibility:hidden.
//
//   - goto navigates and waits for the load event; the main response's
//     status is the step's StatusCode, and 400 or more fails the step.
//   - click waits until the element is visible and enabled, scrolls it to
//     the middle of the viewport and clicks its centre with the mouse.
//   - fill waits likewise, empties an input, a textarea or a
//     contenteditable element and types the value (input events, then
//     change); it fails if the field does not then hold the value.
//   - select chooses the option of a <select> by value, or else by label,
//     and fires input and change.
//   - press sends a key named as KeyboardEvent.key names it ("Enter", "Tab",
//     "ArrowDown", "a") to the focused element, or to Selector focused first.
//   - wait_visible, assert_visible wait until the element is visible;
//     wait_hidden until it is absent or not visible.
//   - assert_text, assert_url, assert_title wait until the element's
//     innerText (trimmed), location.href or document.title matches Value:
//     contains, equals or matches (RE2), judged by check.Comparison.Compare
//     as api assertions are.
//   - eval runs Script in the page (a promise is awaited); the step fails
//     if it throws or evaluates to false.
//   - sleep waits Duration, capped at MaxSleep (10 s; the cap shows in the
//     step's target). Prefer a wait_* step: a sleep is either too long or,
//     on a slow day, too short.
//   - screenshot keeps a JPEG of the viewport for the result.
//
// JavaScript dialogs (alert, confirm) are accepted, as they would otherwise
// stall the page.
//
// # Time and status
//
// The check's Timeout runs from the call to Probe: waiting for a slot or
// for the browser counts. The result's Timings.Total is the steps' time,
// start of the first to end of the last. After a timeout the result is
// still gathered (Navigation Timing, the failure screenshot) within a 2 s
// grace. Statuses: passed; degraded (passed, slower than DegradedAfter);
// failed (a step failed or the check timed out: the page misbehaved);
// error (could not run: bad definition, unset secret, the guard refused the
// page, Chromium missing, crashed or hung, the worker stopped the check).
// The error names the step by its 1-based index, action and target, what it
// expected and what it found:
//
//	step 6 (assert_text "#greeting"): step timeout 10s: expected the text of "#greeting" to contain "Welcome, bob", found "Welcome, alice"
//
// # Results
//
// Console errors are console.error calls, uncaught exceptions and error
// entries of the browser log (up to 50, 1 KiB each); failed requests are
// those that got no response (Chromium's net error, with the proxy's reason
// when it refused) or a status of 400 or more (up to 100). A failed check
// carries a JPEG screenshot of the viewport; a passing one only if a
// screenshot step asked. Screenshots are capped at MaxScreenshotBytes (200
// KiB): re-encoded at lower quality, then scaled down, and dropped if they
// still do not fit, so a result stays far under SQS's 1 MiB.
//
// # Secrets
//
// A step's Value, URL or Script may name a secret as ${{ env.NAME }},
// resolved through Options.Env when the check starts; a name it does not
// know ends the check in status error naming the variable (never a value),
// before anything runs. Secrets are never logged. Results show steps as
// defined (the reference, not the value), and every resolved value (also
// URL-escaped) is replaced by *** wherever the page echoes it: errors,
// console messages, failed request URLs, the navigation URL. Fields a
// secret was typed into are masked (-webkit-text-security) while a
// screenshot is taken; a page that prints a secret as text would still show
// it in a screenshot.
//
// # Metrics
//
// On Options.Registerer: checkfleet_browser_checks_total{status},
// checkfleet_browser_restarts_total{reason}, checkfleet_browser_recycles_total{reason},
// checkfleet_browser_chromium_pss_bytes, checkfleet_browser_launch_duration_seconds,
// checkfleet_browser_guard_refusals_total and checkfleet_browser_screenshots_total{outcome}.
package browser
