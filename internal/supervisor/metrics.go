package supervisor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// metrics are the supervisor's Prometheus series, registered on the
// registry passed to New.
type metrics struct {
	running, ready, crashLooping, upgrading prometheus.Gauge
	restarts                                *prometheus.CounterVec // slot
	upgrades                                *prometheus.CounterVec // kind, result
	upgradeSeconds                          *prometheus.HistogramVec
	reconcileErrors                         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Supervisor) *metrics {
	m := &metrics{
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_supervisor_workers_running",
			Help: "Worker instances running, as of the last reconcile.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_supervisor_workers_ready",
			Help: "Worker instances answering ready on /readyz, as of the last reconcile.",
		}),
		crashLooping: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_supervisor_slots_crash_looping",
			Help: "Slots whose last three instances or more exited soon after they started.",
		}),
		upgrading: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_supervisor_upgrade_in_progress",
			Help: "1 while an upgrade or rollback runs.",
		}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_supervisor_worker_restarts_total",
			Help: "Worker instances that exited on their own and were replaced, by slot.",
		}, []string{"slot"}),
		upgrades: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_supervisor_upgrades_total",
			Help: "Finished upgrades, by kind (upgrade, rollback) and result (succeeded, rolled back, rollback failed).",
		}, []string{"kind", "result"}),
		upgradeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "checkfleet_supervisor_upgrade_duration_seconds",
			Help:    "Wall time of finished upgrades, by kind and result.",
			Buckets: []float64{5, 10, 30, 60, 120, 300, 600, 1200, 3600},
		}, []string{"kind", "result"}),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_supervisor_reconcile_errors_total",
			Help: "Reconcile rounds that could not list the workers.",
		}),
	}
	slots := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "checkfleet_supervisor_slots",
		Help: "Worker slots the host should run.",
	}, func() float64 { return float64(s.cfg.Slots) })
	checks := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "checkfleet_supervisor_worker_checks_total",
		Help: "Checks the workers of this supervisor ran to a result (their checkfleet_worker_checks_total, scraped and added up).",
	}, s.checks.total)
	reg.MustRegister(m.running, m.ready, m.crashLooping, m.upgrading, m.restarts, m.upgrades,
		m.upgradeSeconds, m.reconcileErrors, slots, checks)
	return m
}

// upgradeEnded counts a finished upgrade and observes how long it took.
func (m *metrics) upgradeEnded(kind api.Kind, result api.Result, took time.Duration) {
	m.upgrades.WithLabelValues(string(kind), string(result)).Inc()
	m.upgradeSeconds.WithLabelValues(string(kind), string(result)).Observe(took.Seconds())
}
