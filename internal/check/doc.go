// Package check holds checkfleet's domain types: the in-memory form of a
// check definition (Check, with an APISpec or a BrowserSpec and its
// Assertions) and of the outcome of one run of it (Result).
//
// The package imports only the standard library. Everything else depends on
// it: the message package puts Checks and Results on the wire, the probes run
// a Check and return a Result, the store keeps both, and the checks.yaml
// parser produces Checks.
//
// # Field names
//
// Check.Validate reports problems by field path (ValidationError, Problem).
// The paths use the snake_case keys a check has in checks.yaml and in the
// checkfleet.job/v2 wire format: "api.url", "browser.steps[2].selector",
// "assertions[0].comparison". Durations are named without a unit ("timeout",
// "degraded", "steps[1].duration"): in checks.yaml they are written as Go
// durations ("10s"), on the wire they carry an "_ms" suffix and hold integer
// milliseconds. A parser or decoder maps a Problem back to where the field
// came from (a line in checks.yaml, a JSON path in a message). checks.yaml
// spells a few of them differently, and package checkfile translates: the
// api spec is written under "request", a browser spec's "steps" and
// "viewport" sit on the check itself, and "degraded" is "degraded_after".
//
// The definition-only fields (Schedule, Locations, Tags) are named by their
// checks.yaml keys: "every", "cron", "timezone", "locations[1]", "tags[0]".
// Validate checks them when set; ValidateDefinition also requires a schedule
// and a location, which a job never carries.
//
// # Zero values
//
// The zero value of an optional field means "not set" and the runner applies
// its default: DegradedAfter 0 never degrades, APISpec.MaxRedirects 0 follows
// up to the runner's default when FollowRedirects is set, a zero Viewport is
// the browser's default size, a zero Step.Timeout is the runner's default
// wait. Required fields have no default here; the checks.yaml parser fills
// defaults before it calls Validate, so a Check that passes Validate is
// complete enough to be put in a job.
package check
