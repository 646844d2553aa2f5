package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Prober asks a worker's health server about it.
type Prober interface {
	// Ready returns nil when http://addr/readyz answers ready, an error
	// wrapping ErrDraining when the worker says it is draining, and another
	// error saying why not otherwise.
	Ready(ctx context.Context, addr string) error
	// Checks returns the worker's checkfleet_worker_checks_total, summed
	// over its labels, from http://addr/metrics.
	Checks(ctx context.Context, addr string) (float64, error)
	// Info returns what the worker says about its build at
	// http://addr/info; a worker too old to say answers version "" and job
	// schema version 1 only, the one every worker decodes.
	Info(ctx context.Context, addr string) (api.WorkerInfo, error)
}

// ErrDraining is a worker answering that it is draining.
var ErrDraining = errors.New("draining")

// checksMetric is the worker's counter of checks run to a result.
const checksMetric = "checkfleet_worker_checks_total"

// HTTPProber is the Prober of real workers.
type HTTPProber struct {
	client *http.Client
}

// NewHTTPProber returns a prober whose requests time out after timeout.
func NewHTTPProber(timeout time.Duration) *HTTPProber {
	return &HTTPProber{client: &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, DisableCompression: true,
	}}}
}

// Ready implements Prober.
func (p *HTTPProber) Ready(ctx context.Context, addr string) error {
	body, code, err := p.get(ctx, "http://"+addr+"/readyz", 4<<10)
	if err != nil {
		return err
	}
	if code == http.StatusOK {
		return nil
	}
	msg := strings.TrimSpace(string(body))
	if strings.Contains(msg, "draining") {
		return fmt.Errorf("/readyz: %w", ErrDraining)
	}
	return fmt.Errorf("/readyz answered %d: %s", code, msg)
}

// Checks implements Prober.
func (p *HTTPProber) Checks(ctx context.Context, addr string) (float64, error) {
	body, code, err := p.get(ctx, "http://"+addr+"/metrics", 4<<20)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("/metrics answered %d", code)
	}
	return sumCounter(string(body), checksMetric)
}

// Info implements Prober.
func (p *HTTPProber) Info(ctx context.Context, addr string) (api.WorkerInfo, error) {
	body, code, err := p.get(ctx, "http://"+addr+api.WorkerInfoPath, 64<<10)
	switch {
	case err != nil:
		return api.WorkerInfo{}, err
	case code == http.StatusNotFound:
		return api.WorkerInfo{JobSchemas: []int{1}}, nil
	case code != http.StatusOK:
		return api.WorkerInfo{}, fmt.Errorf("%s answered %d", api.WorkerInfoPath, code)
	}
	var info api.WorkerInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return api.WorkerInfo{}, fmt.Errorf("%s: %w", api.WorkerInfoPath, err)
	}
	return info, nil
}

func (p *HTTPProber) get(ctx context.Context, url string, limit int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", url, err)
	}
	return b, resp.StatusCode, nil
}

// sumCounter adds up every sample of the named metric (a counter, or
// untyped) in a Prometheus text exposition.
func sumCounter(text, name string) (float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return 0, fmt.Errorf("/metrics: %w", err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		sum += m.GetCounter().GetValue() + m.GetUntyped().GetValue()
	}
	return sum, nil
}
