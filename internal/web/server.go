package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// Results is what web reads from the store.
type Results interface {
	Result(ctx context.Context, runID string) (check.Result, error)
	ListResults(ctx context.Context, q store.ResultQuery) (page []check.Result, next string, err error)
	Latest(ctx context.Context) (map[string]map[string]check.Result, error)
	Summaries(ctx context.Context, since time.Time) (map[string]store.Summary, error)
	Rollups(ctx context.Context, checkID string, from, to time.Time) ([]store.Rollup, error)
}

// Config is what the web server serves and how.
type Config struct {
	// Results is the store results are read from. Required.
	Results Results
	// Checks returns the checks the scheduler runs now, in the order they
	// are shown. Required.
	Checks func() []check.Check
	// Status returns the scheduler's status; nil serves an empty one.
	Status func() Status
	// Enqueue runs a check now, once per location, and returns the run ids.
	// It returns ErrUnknownCheck for a check id it does not run. Nil
	// disables run-now.
	Enqueue func(ctx context.Context, checkID string) (runIDs []string, err error)
	// Fleet serves /api/v1/fleet and the status page's fleet view; nil
	// answers 404 there and leaves the view out.
	Fleet Fleet
	// Token is the bearer token that endpoints which change something
	// require. Empty disables them (403).
	Token string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives an event per failed request (error level) and per request
	// (debug level).
	Log zerolog.Logger
	// Metrics is where the HTTP request metrics are registered. Required.
	Metrics prometheus.Registerer
	// Title heads the status page; empty means "checkfleet".
	Title string
}

// Validate reports a configuration the server cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.Results == nil {
		errs = append(errs, errors.New("web: Results store is required"))
	}
	if c.Checks == nil {
		errs = append(errs, errors.New("web: Checks function is required"))
	}
	if c.Metrics == nil {
		errs = append(errs, errors.New("web: Metrics registerer is required"))
	}
	return errors.Join(errs...)
}

// Server serves the API and the status page. It is an http.Handler; mount
// it at the root of the control plane's HTTP server.
type Server struct {
	cfg     Config
	now     func() time.Time
	log     zerolog.Logger
	api     *http.ServeMux
	handler http.Handler
	pages   map[string]*template.Template
	metrics *metrics
}

// New returns a Server for cfg, or what is wrong with cfg.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Title == "" {
		cfg.Title = "checkfleet"
	}
	s := &Server{cfg: cfg, now: cfg.Now, log: cfg.Log}
	if s.now == nil {
		s.now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.metrics, err = newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = s.instrument(securityHeaders(mux))
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// apiNotFoundPattern is the catch-all that answers unknown API routes.
const apiNotFoundPattern = "/api/"

func (s *Server) routes(mux *http.ServeMux) {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/checks", s.apiChecks)
	api.HandleFunc("GET /api/v1/checks/{id}", s.apiCheck)
	api.HandleFunc("GET /api/v1/checks/{id}/results", s.apiCheckResults)
	api.HandleFunc("GET /api/v1/checks/{id}/rollups", s.apiRollups)
	api.HandleFunc("POST /api/v1/checks/{id}/run", s.apiRun)
	api.HandleFunc("GET /api/v1/results/{run_id}", s.apiResult)
	api.HandleFunc("GET /api/v1/results/{run_id}/screenshot.jpg", s.apiScreenshot)
	api.HandleFunc("GET /api/v1/status", s.apiStatus)
	s.fleetRoutes(api)
	api.HandleFunc(apiNotFoundPattern, s.apiNotFound)
	s.api = api
	mux.Handle("/api/", api)

	mux.HandleFunc("GET /{$}", s.pageStatus)
	mux.HandleFunc("GET /checks/{id}", s.pageCheck)
	mux.HandleFunc("GET /results/{run_id}", s.pageResult)
	mux.HandleFunc("GET /fleet", s.pageFleet)
	mux.HandleFunc("GET /static/{file}", serveStatic)
	mux.HandleFunc("/", s.pageNotFound)
}

// apiNotFound answers a request no API route took: 405 with Allow when the
// path exists for other methods, 404 otherwise.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.api.Handler(probe); pattern != apiNotFoundPattern {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no API route %s %s", r.Method, r.URL.Path))
}

// securityHeaders sets the headers every response carries. The pages carry
// no script, so the policy allows none.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "+
			"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// metrics are the HTTP request series.
type metrics struct {
	requests *prometheus.CounterVec   // route, code
	duration *prometheus.HistogramVec // route
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_web_requests_total",
			Help: "HTTP requests served by the API and status page, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "checkfleet_web_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}
	return m, nil
}

// instrument counts and times every request by the route pattern that
// served it, and logs it.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		// ServeMux sets Pattern on the request it was given, which is r.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := s.now().Sub(start)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		s.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Str("route", route).
			Int("code", rec.code).Dur("duration", elapsed).Msg("http request")
	})
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
