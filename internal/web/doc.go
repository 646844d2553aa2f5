// Package web serves checkfleet's HTTP face: the JSON API under /api/v1 and
// the status page.
//
// # API
//
// Every response under /api is JSON; an error is {"error": "..."} with the
// status code that fits it (400 names the bad query parameter, 404 for an
// unknown check, run or route, 405 for a known route asked with the wrong
// method). Names are snake_case, durations are integer milliseconds in fields
// ending in "_ms" (or in objects whose name does, "timings_ms"), times are
// RFC 3339 in UTC.
//
//	GET  /api/v1/checks                       every loaded check, its state, last result per location, uptime
//	GET  /api/v1/checks/{id}                  one check, plus a summary of its definition
//	GET  /api/v1/checks/{id}/results          its results, newest first, filtered and paginated
//	GET  /api/v1/checks/{id}/rollups          its hourly rollups
//	POST /api/v1/checks/{id}/run              run it now (bearer token), 202 with the run ids; 422 for a
//	                                          check whose timeout is above its type's bound (check.MaxTimeoutOf)
//	GET  /api/v1/results/{run_id}             one run
//	GET  /api/v1/results/{run_id}/screenshot.jpg
//	GET  /api/v1/status                       the scheduler's status (reload error, queue depths)
//
// Reads are public. Whatever changes something needs "Authorization: Bearer
// <token>" with Config.Token; with no token configured such endpoints answer
// 403 and say so.
//
// # Results
//
// A result has one shape everywhere: the checkfleet.result/v2 document a
// worker sends (see package message; its JSON Schema is published in
// internal/message/schema), so what is learnt reading the queue holds for
// the API and message.DecodeResult reads either. The API serves it as
// "result" with its "links" beside it, never mixed in:
//
//	{
//	  "result": {"schema": "checkfleet.result/v2", "run_id": "...", "check_id": "...",
//	             "status": "failed", "timings_ms": {"dns": 12, "total": 120}, ...},
//	  "links":  {"self": "/api/v1/results/{run_id}", "check": "/api/v1/checks/{id}",
//	             "page": "/results/{run_id}", "screenshot": "/api/v1/results/{run_id}/screenshot.jpg"}
//	}
//
// That object is the body of GET /api/v1/results/{run_id}, each element of
// "results" in a page of GET /api/v1/checks/{id}/results (whose
// "next_cursor" and "next" sit in the page, beside the list), and each
// location's "last_result" of a check. The document differs from the
// message only in what the API must not or need not repeat: the values of
// sensitive response headers (Set-Cookie, Authorization, ...) read
// "[redacted]", and browser.screenshot is left out; links.screenshot
// points to it, in GET /api/v1/results/{run_id} only (lists read results
// without their screenshots).
//
// # State
//
// A check's state comes from the latest result of each of its locations:
// down if any is failed or error, degraded if any is degraded, up if all
// passed, no_data when no location has a result. See StateOf.
//
// # Pages
//
// "/" is the status page: every check with its state, uptime over 24 hours,
// 7 and 30 days, a response-time chart of the last 24 hours and a bar of its
// recent runs. "/checks/{id}" adds the definition, recent failures and the
// latest failure's screenshot; "/results/{run_id}" is one run in full. Pages
// are rendered on the server with html/template, charts as inline SVG; the
// stylesheet is embedded and served from /static. Pages carry no script at
// all, refresh themselves with <meta http-equiv=refresh>, and are sent with a
// Content-Security-Policy that allows none.
package web
