package schedule

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the scheduler's Prometheus series.
type metrics struct {
	checks     prometheus.Gauge
	leader     prometheus.Gauge
	scheduled  *prometheus.CounterVec
	enqueued   *prometheus.CounterVec
	sendErrors *prometheus.CounterVec
	lateness   prometheus.Histogram
	catchUp    prometheus.Counter
	outbox     prometheus.Gauge
	aboveFleet *prometheus.CounterVec
	isLeader   atomic.Bool
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		checks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_scheduler_checks_loaded", Help: "Checks loaded and scheduled.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_scheduler_leader", Help: "1 while this scheduler holds the scheduling lease.",
		}),
		scheduled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_scheduler_runs_scheduled_total", Help: "Runs planned (recorded in the outbox), by location.",
		}, []string{"location"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_scheduler_jobs_enqueued_total", Help: "Jobs accepted by a jobs queue, by location (manual runs included).",
		}, []string{"location"}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_scheduler_send_errors_total", Help: "Jobs a jobs queue did not accept (retried), by location.",
		}, []string{"location"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "checkfleet_scheduler_enqueue_lateness_seconds",
			Help:    "From a run's due time to its job accepted by the jobs queue.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		catchUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_scheduler_catch_up_runs_total", Help: "Runs that stood for several missed due times (after downtime).",
		}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_scheduler_outbox_unsent_jobs", Help: "Planned jobs the last flush could not send.",
		}),
		aboveFleet: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_scheduler_jobs_above_fleet_schema_total",
			Help: "Jobs sent at a higher job schema than every host of the location decodes, because the fleet's version cannot carry their check, by location.",
		}, []string{"location"}),
	}
	for _, c := range []prometheus.Collector{m.checks, m.leader, m.scheduled, m.enqueued, m.sendErrors, m.lateness, m.catchUp, m.outbox, m.aboveFleet} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) setLeader(b bool) {
	m.isLeader.Store(b)
	if b {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

func (m *metrics) leaderValue() bool { return m.isLeader.Load() }
