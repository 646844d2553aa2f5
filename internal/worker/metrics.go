package worker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus series, registered on the registry
// passed to New.
type metrics struct {
	received      *prometheus.CounterVec   // queue
	checks        *prometheus.CounterVec   // type, status
	duration      *prometheus.HistogramVec // type, status
	inFlight      prometheus.Gauge
	waiting       *prometheus.GaugeVec // type
	extensions    prometheus.Counter
	released      *prometheus.CounterVec // reason
	decodeFailure *prometheus.CounterVec // reason
	sqsErrors     *prometheus.CounterVec // operation
	deleted       prometheus.Counter
	resultsSent   prometheus.Counter
	// resultsReplaced counts results answered with an error result instead,
	// by reason (not_encodable, refused).
	resultsReplaced *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_worker_jobs_received_total",
			Help: "Job messages received, by jobs queue.",
		}, []string{"queue"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_worker_checks_total",
			Help: "Checks run to a result, by check type and result status.",
		}, []string{"type", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "checkfleet_worker_check_duration_seconds",
			Help:    "Wall time of a check, from start to result, by check type and status.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"type", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_worker_checks_in_flight",
			Help: "Checks running now.",
		}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "checkfleet_worker_jobs_waiting",
			Help: "Jobs received and decoded, waiting for a slot of their check type, by type.",
		}, []string{"type"}),
		extensions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_worker_heartbeat_extensions_total",
			Help: "Visibility extensions of jobs in flight that SQS accepted.",
		}),
		released: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_worker_jobs_released_total",
			Help: "Jobs handed back to their queue without a result, by reason (draining, cancelled, result_not_sent, newer_version, malformed).",
		}, []string{"reason"}),
		decodeFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_worker_decode_failures_total",
			Help: "Job messages that could not be decoded, by reason (newer_version, held_too_long, malformed).",
		}, []string{"reason"}),
		sqsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_worker_sqs_errors_total",
			Help: "Failed SQS requests and batch entries, by operation.",
		}, []string{"operation"}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_worker_jobs_deleted_total",
			Help: "Jobs deleted after their result was sent.",
		}),
		resultsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_worker_results_sent_total",
			Help: "Results sent to the results queue.",
		}),
		resultsReplaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_worker_results_replaced_total",
			Help: "Results that could not be encoded (not_encodable) or that SQS refused (refused), answered with an error result saying why.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.received, m.checks, m.duration, m.inFlight, m.waiting, m.extensions, m.released,
		m.decodeFailure, m.sqsErrors, m.deleted, m.resultsSent, m.resultsReplaced)
	return m
}
