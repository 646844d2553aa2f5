// Package checkfile reads checks.yaml, checkfleet's checks as code, into
// []check.Check, and reports everything wrong with it at once, each problem
// on the line it is about:
//
//	checks.yaml:14: request.url: must be an absolute http or https URL, got "example.com/health"
//	checks.yaml:3: unknown field "timout" in check "home" (did you mean "timeout"?)
//
// Load reads a file or a folder, Parse a file held in memory; both return
// an *Error listing every Problem (file, line, column, field, message), or
// the checks, each of which passes check.ValidateDefinition. `scheduler
// validate` and `worker check` print the Error and exit non-zero.
//
// # The file
//
// The primary form is a mapping with the checks and optional defaults, which
// apply to every check that does not set the key itself:
//
//	defaults:
//	  every: 1m                 # or cron (below); one of them is required
//	  locations: [eu-west-1, us-east-1]
//	  timeout: 10s
//	  degraded_after: 2s
//	  tags: [prod]
//	  timezone: Europe/Berlin   # applies to cron schedules only
//
//	checks:
//	  - id: api-health          # required; letters, digits, . _ -; unique across all files
//	    name: API health        # shown on the status page
//	    type: api               # api or browser
//	    every: 30s              # a Go duration, at least 10s
//	    degraded_after: 500ms   # passing but slower than this is "degraded"
//	    request:
//	      method: POST          # default GET
//	      url: https://api.example.com/v1/login
//	      headers:              # sent in this order
//	        Content-Type: application/json
//	        Accept: [application/json, text/plain]   # a list sends the header twice
//	      body: '{"user": "probe"}'
//	      follow_redirects: true  # default true
//	      max_redirects: 5        # 0 (the default): the runner's limit
//	    assertions:
//	      - { source: status_code, comparison: equals, target: 200 }
//	      - { source: json_body, property: $.token, comparison: not_empty }
//	      - { source: headers, property: Content-Type, comparison: contains, target: json }
//	      - { source: response_time, comparison: less_than, target: 1500 }
//
//	  - id: login-flow
//	    type: browser
//	    cron: "*/10 8-18 * * 1-5"   # every 10 minutes in office hours, Berlin time
//	    timeout: 60s
//	    locations: [eu-west-1]      # replaces the default list, not added to it
//	    viewport: { width: 1280, height: 800 }
//	    steps:
//	      - { action: goto, url: "https://app.example.com/login" }
//	      - { action: fill, selector: "#email", value: probe@example.com }
//	      - { action: click, selector: "button[type=submit]" }
//	      - { action: wait_visible, selector: .dashboard, timeout: 15s }
//	      - { action: assert_text, selector: h1, value: Welcome }   # matcher defaults to contains
//	      - { action: assert_url, matcher: matches, value: "/dashboard$" }
//	      - { action: screenshot }
//
// A bare list of checks (the file above without "defaults:" and "checks:")
// is accepted too. A folder holds any number of such files.
//
// # Keys
//
// Check: id, name, type, every, cron, timezone, locations, tags, timeout,
// degraded_after, request (api), steps and viewport (browser), assertions
// (api), alert (read by LoadAlerting). Defaults: every, cron, timezone, locations, tags, timeout,
// degraded_after. Request: method, url, headers, body, follow_redirects,
// max_redirects. Step: action and the fields it takes (see the Action
// constants in package check; a field the action does not use is an error).
// Assertion: source, property, comparison, target. Viewport: width, height.
// Any other key, at any level, is an error with a suggestion.
//
// Values: durations are Go durations with a unit ("30s", "1m30s", "250ms");
// a bare number is refused rather than guessed at. Text fields take any
// scalar and keep it as written, so `target: 200` is "200" and `target:
// 1.50` stays "1.50" (quote it to be explicit). A key with a null value
// (`timeout:` or `timeout: ~`) counts as not written. Anchors and aliases
// work (`steps: *login_steps`); merge keys (<<) do not (use defaults:).
//
// # Precedence and built-in defaults
//
// A key on a check replaces the same key in defaults; lists are replaced,
// not merged. The schedule is one unit: a check with its own every or cron
// ignores both default ones. defaults.timezone applies to every cron
// schedule without a timezone of its own, and to no every schedule (setting
// timezone on a check with every is an error). What neither sets: timeout
// 10s for api and 60s for browser checks, method GET, follow_redirects
// true, matcher contains on assert_text, assert_url and assert_title. A
// schedule and at least one location are required. A timeout is at most
// 30s for api and 4m for browser checks (check.MaxAPITimeout,
// check.MaxBrowserTimeout), so every check fits in a worker's drain; a
// step's timeout or sleep is at most 4m.
//
// # Schedules
//
// every is an interval of at least check.MinEvery (10s). cron is a 5-field
// expression or a descriptor (@hourly, @daily, @weekly, @monthly, @yearly,
// @every 90s), read in timezone (an IANA name; UTC when not set). It is
// parsed with timetable.ParseCron, the function the scheduler's timetables
// are built with, so a file that loads is a file the scheduler can run.
// Time zone data is embedded (time/tzdata, by package timetable), so
// validation does not depend on the machine's zoneinfo.
//
// # Files and folders
//
// Load on a folder reads every *.yaml and *.yml file below it, recursively,
// in lexical order of their paths, skipping names that start with ".". Ids
// must be unique across all of them; a duplicate names both places. A file
// must hold exactly one YAML document, not be empty, and be at most
// MaxFileSize (10 MiB). Aliases may expand to at most a million nodes in
// all, which refuses "billion laughs" documents before they cost anything.
//
// # Errors
//
// Every problem in every file is reported, ordered by file and line, as
// `file:line: field: message`. Problems found by check.ValidateDefinition
// are put on the line of the key they are about, named in checks.yaml terms
// (check's "api.url" is "request.url" here); a problem with a value taken
// from defaults points at the defaults line and names the check. A required
// key that is missing points at the start of its check. YAML syntax errors
// carry the line the YAML parser stopped at.
//
// # Alerting
//
// LoadAlerting (ParseAlerting for a file in memory) reads the same files
// and their alerting keys too; Load and Parse accept those keys and do not
// read them, so `worker check` and the reloader's LoadFunc are unchanged.
// The keys, named as package alert's validation names its fields:
//
//	alert_channels:                # where notifications go
//	  - id: ops-slack              # letters, digits, . _ -; unique across all files
//	    type: slack                # webhook, slack, email, pagerduty or opsgenie
//	    url: ${{ env.CHECKFLEET_SECRET_SLACK_URL }}
//	  - id: oncall
//	    type: pagerduty
//	    routing_key: ${{ env.CHECKFLEET_SECRET_PD_KEY }}
//	    severity: error            # critical (default), error, warning, info
//	  - { id: hook, type: webhook, url: "https://hooks.example.com/in",
//	      secret: "${{ env.CHECKFLEET_SECRET_HOOK }}", headers: { X-Team: ops } }
//	  - { id: mail, type: email, host: smtp.example.com, port: 587, username: checkfleet,
//	      password: "${{ env.CHECKFLEET_SECRET_SMTP }}", from: checkfleet@example.com, to: [ops@example.com] }
//	  - { id: genie, type: opsgenie, api_key: "${{ env.CHECKFLEET_SECRET_GENIE }}", priority: P2 }
//
//	alert_policy:                  # for every check of this file
//	  channels: [ops-slack]
//	  fail_after_runs: 2           # or fail_after: 5m (one of them; a layer setting either replaces both)
//	  min_locations: 1             # or min_percent: 50 (scope check)
//	  scope: check                 # or location: each location alerts on its own
//	  alert_on_degraded: false
//	  errors: separate             # separate, failure or ignore
//	  reminder_every: 30m          # with max_reminders: 3; 0s turns them off
//	  recovery: true
//	  cert_expiry_days: 14         # 0 does not look
//	  flap_changes: 5              # with flap_window: 30m; 0 turns flapping off
//
//	maintenance:                   # muted, still run and recorded
//	  - { id: db-upgrade, cron: "0 2 * * SUN", duration: 1h, timezone: Europe/Berlin, tags: [db] }
//	  - { id: release-42, start: "2025-06-01T02:00:00Z", end: "2025-06-01T03:00:00Z", checks: [home] }
//
//	checks:
//	  - id: home
//	    alert: { channels: [oncall], min_locations: 2 }
//
// A check's policy is alert.DefaultPolicy, overridden key by key by its
// file's alert_policy, overridden key by key by its own alert; channels
// is a list and is replaced, not merged (channels: [] notifies nobody).
// A check with neither notifies no channel. Channel and maintenance ids
// are shared by the files of a folder, so alert_channels and maintenance
// may live in a file of their own (alerting.yaml, which needs no checks:);
// alert_policy, like defaults, applies to its own file's checks.
//
// Credentials are never written in the file: the fields package alert
// resolves (a webhook's url, secret and headers, a Slack url, an email
// password, a PagerDuty routing_key, an Opsgenie api_key) take
// ${{ env.NAME }} references, and a value written in clear is refused
// without being repeated: a secret, password, routing_key or api_key that
// is not a reference, any Slack URL without one (the URL is its own
// credential), a URL with a password or a credential-like query parameter
// (token, key, sig...), a credential-like header (Authorization,
// X-Api-Key...). A reference anywhere else, or a malformed one, is an
// error. NAME must start with SecretPrefix (CHECKFLEET_SECRET_): the
// control plane's environment holds its own token, store URL and AWS keys,
// which a checks file must not be able to send anywhere.
//
// Errors (the file does not load): unknown or duplicate keys, an unknown
// channel type, a key the type does not read, a duplicate channel or
// maintenance id, a check or alert_policy naming an unknown channel,
// every problem of alert's Validate (channels, policies, windows) and of
// Policy.ValidateFor each check (min_locations above its number of
// locations), each on the line of the key it names: a value from
// alert_policy that is wrong for some checks is reported once on
// alert_policy's line, naming them.
//
// Warnings (Problem.Warning; the file loads, `scheduler validate` exits 0
// unless --strict): a variable a channel references that the lookup given
// to LoadAlerting does not find (a laptop need not hold production
// secrets; the control plane resolves channels when it starts, and one
// whose variables are missing cannot send), a channel no check uses, a
// maintenance window's check id or tag that no check has.
//
// # YAML library
//
// go.yaml.in/yaml/v4 is the YAML organisation's maintained successor of
// gopkg.in/yaml.v3. Like v3 it exposes the node tree with the line and
// column of every key and value, which line-accurate problems, unknown-key
// and duplicate-key detection and bounded alias expansion need (the walk is
// done here, not by struct decoding). Unlike v3 it reports the line and
// column of syntax errors as data (*yaml.LoadError) and on every error: v3
// leaves the line out of some ("mapping values are not allowed in this
// context", unknown anchors) and puts others on the line before.
package checkfile
