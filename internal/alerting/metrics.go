package alerting

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// recorderMetrics are the Recorder's.
type recorderMetrics struct {
	recorded *prometheus.CounterVec
	errors   prometheus.Counter
}

func newRecorderMetrics(reg prometheus.Registerer) (*recorderMetrics, error) {
	m := &recorderMetrics{
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_alerting_notifications_recorded_total",
			Help: "Notifications decided from results and recorded in the outbox, by kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_alerting_record_errors_total",
			Help: "Observations of a check's results that failed on the store (the check's evaluator is rebuilt).",
		}),
	}
	if err := register(reg, m.recorded, m.errors); err != nil {
		return nil, err
	}
	return m, nil
}

// The outcomes of a delivery attempt.
const (
	outcomeSent    = "sent"
	outcomeRetry   = "retry"
	outcomeGivenUp = "given_up"
)

// senderMetrics are the Sender's.
type senderMetrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

func newSenderMetrics(reg prometheus.Registerer) (*senderMetrics, error) {
	m := &senderMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_alerting_deliveries_total",
			Help: "Delivery attempts by channel and outcome (sent, retry, given_up).",
		}, []string{"channel", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "checkfleet_alerting_delivery_latency_seconds",
			Help:    "Time from a notification being recorded to its channel accepting it.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600},
		}, []string{"channel"}),
	}
	if err := register(reg, m.deliveries, m.latency); err != nil {
		return nil, err
	}
	return m, nil
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("alerting metrics: %w", err)
		}
	}
	return nil
}
