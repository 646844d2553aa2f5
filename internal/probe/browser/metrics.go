package browser

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/checkfleet/checkfleet/internal/check"
)

// metrics are the prober's Prometheus series.
type metrics struct {
	restarts   *prometheus.CounterVec // reason: crashed, unresponsive, launch_failed
	recycles   *prometheus.CounterVec // reason: checks, memory
	checks     *prometheus.CounterVec // status
	memory     prometheus.Gauge
	launch     prometheus.Histogram
	refusals   prometheus.Counter
	screenshot *prometheus.CounterVec // outcome: kept, shrunk, dropped
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_browser_restarts_total",
			Help: "Chromium restarted after it failed, by reason (crashed, unresponsive, launch_failed).",
		}, []string{"reason"}),
		recycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_browser_recycles_total",
			Help: "Chromium replaced between checks on purpose, by reason (checks, memory).",
		}, []string{"reason"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_browser_checks_total",
			Help: "Browser checks run, by result status.",
		}, []string{"status"}),
		memory: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_browser_chromium_pss_bytes",
			Help: "Memory of the serving Chromium: proportional set size summed over its processes (RSS would count shared pages once per process).",
		}),
		launch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "checkfleet_browser_launch_duration_seconds",
			Help:    "Time from starting Chromium to its first answer.",
			Buckets: []float64{.1, .25, .5, 1, 2, 5, 10, 30},
		}),
		refusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_browser_guard_refusals_total",
			Help: "Requests of pages under test refused by the network guard.",
		}),
		screenshot: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_browser_screenshots_total",
			Help: "Screenshots taken, by outcome (kept, shrunk to fit the cap, dropped as too large).",
		}, []string{"outcome"}),
	}
	for _, s := range check.Statuses() {
		m.checks.WithLabelValues(string(s))
	}
	if reg != nil {
		reg.MustRegister(m.restarts, m.recycles, m.checks, m.memory, m.launch, m.refusals, m.screenshot)
	}
	return m
}
