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
	}
	for _, c := range []prometheus.Collector{m.rollouts, m.hosts, m.regressions, m.heartbeats, m.turns, m.webhooks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("rollout: register metrics: %w", err)
		}
	}
	return m, nil
}
