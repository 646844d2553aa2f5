// Package chaos is the chaos suite: the whole pipeline (`scheduler serve`
// on PostgreSQL, the durable embedded SQS endpoint, a supervisor with five
// worker slots on Docker or as processes) under a steady load of checks
// while a seeded fault injector kills and restarts its parts, upgrades the
// fleet back and forth, throttles SQS and stops PostgreSQL. At the end the
// system is left to settle and judged from outside, by run id, from the
// store and the queues: every run the scheduler planned or sent has exactly
// one recorded result, nothing is stuck in flight, and the dead-letter
// queues hold exactly the poison messages the suite put in on purpose.
//
// The package's code is the harness (targets, checks, the tap on the SQS
// endpoint, the injector, the verdict); TestChaos runs it. `make chaos`
// runs it for 20 minutes; `make test` and CI for CHECKFLEET_CHAOS_DURATION
// (default 3m). CHECKFLEET_CHAOS_SEED replays a run's faults;
// CHECKFLEET_CHAOS_RUNTIME picks docker or process (default: docker when an
// engine answers).
package chaos
