// Package channel sends alert.Notifications to the services people use:
// one file per kind (webhook, slack, pagerduty, opsgenie, email), each a
// Sender, built by New from an alert.Resolved channel.
//
// A failed Send returns an *Error that says whether trying again may help
// (Retryable: a 5xx, 408 or 429 answer, a timeout, a refused or reset
// connection, an SMTP 4xx) or not (a 4xx answer, an SMTP 5xx, a bad
// certificate), for the outbox's backoff. Errors name the channel, its kind
// and the endpoint's host, never a path, query or credential (a Slack URL
// is its own credential).
//
// # The webhook document
//
// A webhook channel POSTs one JSON object per notification, Content-Type
// application/json, with the headers
//
//	X-Checkfleet-Key: <key>                  the dedup key; a receiver may see a key twice (at-least-once) and should ignore the second
//	X-Checkfleet-Signature: sha256=<hex>     HMAC-SHA256 of the exact body with the channel's secret, when one is set
//
// and the body (schema checkfleet.notification/v1; fields marked * are
// omitted when empty):
//
//	{
//	  "schema":      "checkfleet.notification/v1",
//	  "key":         "api/*/down/1772445630000/trigger",  dedup key: incident id, kind, and /N for reminder N
//	  "incident_id": "api/*/down/1772445630000",          check/scope/track/since (Unix ms of the first bad run)
//	  "kind":        "trigger" | "reminder" | "recovery",
//	  "track":       "down" | "error" | "cert",           failed runs, runs that could not run, certificate expiry
//	  "check":       {"id": "api", "name": "API"},
//	  "scope":       "*" for the whole check, or a location name,
//	  "sequence":    reminder number from 1; 0 otherwise,
//	  "summary":     one line for people,
//	  "at":          RFC 3339 time of the result that decided it,
//	  "since":       RFC 3339 time the incident began,
//	  "down_ms":     * on a recovery: how long it lasted, in milliseconds,
//	  "locations":   * the failing locations, sorted,
//	  "flapping":    * true when the check flaps (it alerts once),
//	  "withdrawn":   * true on a recovery of an incident late results show did not happen,
//	  "status":      * the deciding result's status (passed, degraded, failed, error),
//	  "error":       * its error,
//	  "run_id":      * its run id,
//	  "cert_not_after": * on the cert track: RFC 3339 expiry of the certificate
//	}
//
// Receivers answer 2xx; anything else is an error (see above).
package channel
