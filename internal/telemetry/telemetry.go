// Package telemetry sets up what every checkfleet binary shares for
// observability: a zerolog logger writing one JSON event per line, and a
// Prometheus registry (not the global one) with the Go and process collectors
// and a build-info gauge.
package telemetry

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
)

// LogConfig says how a binary logs.
type LogConfig struct {
	// Level is one of trace, debug, info, warn, error.
	Level string
	// Format is "json" (one event per line, the default) or "console" for people.
	Format string
}

// Validate reports a level or format we do not know.
func (c LogConfig) Validate() error {
	if _, err := zerolog.ParseLevel(strings.ToLower(c.Level)); err != nil || c.Level == "" {
		return fmt.Errorf("log level %q: want one of trace, debug, info, warn, error", c.Level)
	}
	switch c.Format {
	case "json", "console":
		return nil
	default:
		return fmt.Errorf("log format %q: want json or console", c.Format)
	}
}

// NewLogger returns a logger for the binary named service, writing to w.
func NewLogger(w io.Writer, service string, cfg LogConfig) (zerolog.Logger, error) {
	if err := cfg.Validate(); err != nil {
		return zerolog.Nop(), err
	}
	level, _ := zerolog.ParseLevel(strings.ToLower(cfg.Level))
	zerolog.TimeFieldFormat = time.RFC3339Nano
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	host, _ := os.Hostname()
	return zerolog.New(w).Level(level).With().
		Timestamp().
		Str("service", service).
		Str("version", buildinfo.Read().Version).
		Str("host", host).
		Logger(), nil
}

// NewRegistry returns a Prometheus registry holding the Go runtime and
// process collectors and checkfleet_build_info{service,version,revision,goversion} 1.
func NewRegistry(service string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	info := buildinfo.Read()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "checkfleet_build_info",
			Help: "Build of the running binary; the value is always 1.",
			ConstLabels: prometheus.Labels{
				"service":   service,
				"version":   info.Version,
				"revision":  info.Revision,
				"goversion": info.GoVersion,
			},
		}, func() float64 { return 1 }),
	)
	return reg
}

// FlagSet is the part of flag.FlagSet that RegisterLogFlags needs.
type FlagSet interface {
	StringVar(p *string, name, value, usage string)
}

// RegisterLogFlags adds --log-level and --log-format to fs and returns the
// configuration they fill.
func RegisterLogFlags(fs FlagSet) *LogConfig {
	var c LogConfig
	fs.StringVar(&c.Level, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.StringVar(&c.Format, "log-format", "json", "log format: json (one event per line) or console")
	return &c
}
