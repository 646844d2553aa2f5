// Package supervisorapi is the supervisor's contract with everything that
// is not the agent: the control API's wire types (Status, the Event stream
// of an upgrade, its Summary, the UpgradeRequest), the Client that speaks
// it over the agent's unix socket, and the labels every instance the agent
// creates carries. The agent (package supervisor) serves it; the CLI, the
// tests and the fleet code import this package alone, never the agent.
//
// The control API, served on the unix socket:
//
//	GET  /v1/status    Status as JSON
//	POST /v1/upgrade   UpgradeRequest as JSON; answers Event JSON lines until the StepResult
//	POST /v1/rollback  UpgradeRequest (options only); same answer
//
// Errors are {"error": "..."} with 400 (bad request), 409 (another upgrade
// runs, nothing to roll back to), 422 (the tag resolves to nothing) or 503
// (starting or stopping).
package supervisorapi
