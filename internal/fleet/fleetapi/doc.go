// Package fleetapi is the control plane's fleet HTTP API as its callers see
// it: the JSON wire types and a Client for every endpoint. The supervisor's
// agent (host side) and the `supervisor fleet` CLI (operator side) import
// this package alone, never the control plane's handlers or its driver.
// The wire types convert to and from package fleet's (ImageOf, Image.Fleet,
// HostStateOf, HostState.Fleet, RolloutOf, ...).
//
// Every path is under /api/v1/fleet. Bodies are JSON; an error is
// {"error": "..."} with its HTTP status (a refused lock adds "lock", the
// lock as held), returned by the Client as an *Error (errors.Is it with
// fleet.ErrLocked for a 409 naming a lock).
//
// # Host side (Authorization: Bearer <host token>)
//
// A host token is the host's own: the first registration of a host id
// records it (hashed), every later request of that host must present it.
// Registering a new host id also needs the control plane's fleet join token
// (header X-Checkfleet-Join-Token, Client.WithJoinToken): without it, or
// with a wrong one, the registration is refused with 401 and nothing is
// recorded. A known host re-registering with its own host token needs none.
// NewHostClient names the host the token belongs to in every request
// (header X-Checkfleet-Host), so a token used for another host's id is
// refused with 403; a wrong token is refused with 401, an unknown ring with
// 400 naming the rings.
//
//	POST   /api/v1/fleet/hosts                     Registration -> Host
//	POST   /api/v1/fleet/hosts/{id}/heartbeat      HostState -> Desired
//	GET    /api/v1/fleet/hosts/{id}/desired        -> Desired
//	POST   /api/v1/fleet/hosts/{id}/turn           TurnRequest -> Turn (ask or renew)
//	DELETE /api/v1/fleet/hosts/{id}/turn           -> 204 (free it)
//	POST   /api/v1/fleet/hosts/{id}/outcome        Outcome -> 204
//
// A host heartbeats every few seconds; the answer (Desired) says which
// image it should run and whether it must move. To move, it resolves the
// tag to an image id, asks for a turn with that image (the first host to
// ask pins the ring's pointer to its id; a different id is refused with
// 409), renews the turn while it upgrades (a turn lapses after its
// ExpiresAt), reports the Outcome and frees the turn. A turn is refused
// (Granted false, with the reason) while the ring's share of parallel
// upgrades is taken or a rollout of the ring is paused.
//
// # Operator side (Authorization: Bearer <operator token>)
//
// The operator token is the scheduler's API token (--token,
// CHECKFLEET_TOKEN), the one POST /api/v1/checks/{id}/run takes. Reads are
// open like the rest of the API and the status page.
//
//	POST /api/v1/fleet/deploy                DeployRequest -> 202 Rollout
//	POST /api/v1/fleet/rollback              RollbackRequest -> 202 Rollout
//	POST /api/v1/fleet/unify                 UnifyRequest -> 202 Rollout
//	POST /api/v1/fleet/unlock                UnlockRequest -> Lock (the lock broken)
//	POST /api/v1/fleet/rollouts/{id}/pause   PauseRequest -> Progress
//	GET  /api/v1/fleet/status                -> Status
//	GET  /api/v1/fleet/history[?ring=R&limit=N]   -> History
//	GET  /api/v1/fleet/rollouts/{id}[?after=SEQ&wait=30s]   -> Progress
//
// A deploy, rollback or unify runs on the control plane: the POST answers
// at once with the rollout as recorded, and the caller follows it by long
// polling its progress: GET .../rollouts/{id}?after=SEQ answers as soon as
// the progress's Seq is past SEQ, or after wait (at most 60 s) with the
// progress as it stands, so a proxy never sees an idle connection for
// long. Client.Watch does the loop.
//
// A caller that gives up (Ctrl-C) pauses the rollout with POST
// .../rollouts/{id}/pause: its outcome becomes paused, the ring's lock stays
// held, no host gets a new turn, hosts mid-upgrade finish. The progress of
// a paused rollout says the one command that resumes it (deploy the same
// tag again, which takes the paused rollout over) and the one that reverts
// it (rollback).
package fleetapi
