package rollout

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the fleet's series.
type metrics struct {
	rollouts    *prometheus.CounterVec // ring, kind, outcome
	hosts       *prometheus.CounterVec // result
	regressions *prometheus.CounterVec // ring
	heartbeats  prometheus.Counter
	turns       *prometheus.CounterVec // granted
	webhooks    *prometheus.CounterVec // kind, result

	flushSeconds  prometheus.Histogram
	flushed       prometheus.Counter
	flushFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rollouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_fleet_rollouts_total", Help: "Rollouts ended (or paused), by ring, kind and outcome.",
		}, []string{"ring", "kind", "outcome"}),
		hosts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_fleet_rollout_hosts_total", Help: "Host outcomes recorded by rollouts, by result.",
		}, []string{"result"}),
		regressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_fleet_regression_rollbacks_total", Help: "Rollouts rolled back by themselves on a regression, by ring.",
		}, []string{"ring"}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_fleet_heartbeats_total", Help: "Host heartbeats recorded.",
		}),
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_fleet_turn_requests_total", Help: "Upgrade turn requests, by whether they were granted.",
		}, []string{"granted"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_fleet_webhooks_total", Help: "Rollout webhooks sent, by kind and result (ok, failed).",
		}, []string{"kind", "result"}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "checkfleet_fleet_heartbeat_flush_seconds", Help: "Time to write the heartbeats held in memory in one transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 7),
		}),
		flushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_fleet_heartbeats_flushed_total", Help: "Host heartbeats written to the store by flushes.",
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_fleet_heartbeat_flush_failures_total", Help: "Heartbeat flushes that failed (their heartbeats retried at the next).",
		}),
	}
	for _, c := range []prometheus.Collector{m.rollouts, m.hosts, m.regressions, m.heartbeats, m.turns, m.webhooks, m.flushSeconds, m.flushed, m.flushFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("rollout: register metrics: %w", err)
		}
	}
	return m, nil
}
