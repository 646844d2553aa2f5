// Package httpprobe runs api checks: one HTTP request, judged by the
// check's assertions, reported as a check.Result with what a person
// debugging an outage needs (per-phase timings, status code, headers, body
// size, TLS version and certificate expiry, each assertion's actual value,
// and an error naming what failed in which phase).
//
// Prober.Probe has the shape every checkfleet prober shares (the
// blackbox_exporter layout): func(ctx, check.Check) check.Result. It never
// panics and is bounded by the check's timeout and by ctx.
//
// # Connections and timings
//
// Every probe opens its own connections (keep-alives are off), so a
// result's dns, connect and tls phases are measured, not skipped by a
// pooled connection. Phases come from net/http/httptrace and are summed
// over redirect hops: dns is the lookups, connect the TCP connects, tls the
// handshakes, ttfb from a request written to its first response byte;
// download is the final response's, from its first byte to its last; total
// is the whole probe. Every connection, redirects included, goes through
// the netguard.Policy of the Prober, and no proxy is used (the guard must
// see the target's address). HTTP/2 is negotiated where the server offers
// it.
//
// # Body
//
// The body is read up to Options.BodyCap (1 MiB by default) for assertions;
// the rest is read, discarded and counted, so HTTPResult.BodyBytes is the
// whole body (decompressed, when the transport asked for gzip on its own).
// Buffers start at 4 KiB and grow as a body needs, so small responses cost
// little at high concurrency. Assertions on a truncated body see its first
// BodyCap bytes; a truncated JSON body fails to parse and says so.
//
// # Status
//
//   - passed: a response arrived and every assertion held (without
//     assertions: a final status of 2xx or 3xx), within degraded_after;
//   - degraded: the same, but slower than degraded_after (total time);
//   - failed: the target misbehaved: DNS failure, refused connection, bad
//     certificate, timeout, broken response, a failed assertion, too many
//     redirects;
//   - error: the check could not be run: a bad definition (invalid check,
//     invalid regular expression or JSONPath, non-numeric target for
//     less_than), a refusal by the network guard (the operator's policy, not
//     the target's fault, see describeFailure), the caller cancelling the
//     probe, a panic.
//
// # Assertions
//
// Sources: status_code, text_body, json_body (Property is a JSONPath, "$"
// when empty; evaluated with github.com/ohler55/ojg, which follows the
// JSONPath draft that became RFC 9535 and supports filters such as
// $.items[?(@.id > 1)].name), headers (Property is the header name,
// case-insensitive; repeated headers are joined with ", ") and
// response_time (total milliseconds). Comparisons are those of
// check.Comparison.Compare, plus has_key on json_body and headers. A value that is absent (no such header, a
// JSONPath selecting nothing) passes is_empty and fails everything else
// with an error saying so. Result.Error names the first failing assertion,
// numbered from 1: `assertion 2 (json_body $.data.id equals "7"): got "8"`.
package httpprobe
