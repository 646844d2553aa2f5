package schedule

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

type recorder struct {
	mu    sync.Mutex
	ids   []string
	loads int
}

func (r *recorder) SetChecks(cs []check.Check) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = r.ids[:0]
	for _, c := range cs {
		r.ids = append(r.ids, c.ID)
	}
	r.loads++
	return nil
}

func (r *recorder) get() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.ids, ","), r.loads
}

const checksYAML = `
checks:
  - id: %s
    type: api
    every: 1m
    locations: [eu]
    request: {url: "https://example.com/"}
`

func writeChecks(t *testing.T, path, body string) {
	t.Helper()
	// Write and rename, as editors do.
	if err := durable.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReloaderKeepsPreviousChecksOnBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checks.yaml")
	writeChecks(t, path, strings.ReplaceAll(checksYAML, "%s", "home"))
	target := &recorder{}
	reg := prometheus.NewRegistry()
	r, err := NewReloader(path, checkfile.Load, target, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := target.get(); ids != "home" {
		t.Fatalf("loaded %q, want home", ids)
	}

	writeChecks(t, path, "checks:\n  - id: broken\n    type: api\n    requets: {}\n")
	err = r.Load()
	if err == nil || !strings.Contains(err.Error(), "checks.yaml:4") {
		t.Fatalf("bad file: err %v, want one naming checks.yaml:4", err)
	}
	if ids, loads := target.get(); ids != "home" || loads != 1 {
		t.Errorf("after a bad file the target has %q (%d loads), want home kept", ids, loads)
	}
	if st := r.Status(); !strings.Contains(st.Error, "checks.yaml:4") {
		t.Errorf("status error %q does not name the file and line", st.Error)
	}
	if got := testutil.ToFloat64(r.errs); got != 1 {
		t.Errorf("reload error counter %v, want 1", got)
	}
}

func TestReloaderWatchesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checks.yaml")
	writeChecks(t, path, strings.ReplaceAll(checksYAML, "%s", "home"))
	target := &recorder{}
	r, err := NewReloader(path, checkfile.Load, target, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// The watch is set up asynchronously: rewrite, slower than the
	// debounce, until a reload is seen.
	var wrote time.Time
	testenv.Eventually(t, 10*time.Second, "a reload after the file changed", func() bool {
		if time.Since(wrote) > 4*debounce {
			writeChecks(t, path, strings.ReplaceAll(checksYAML, "%s", "api"))
			wrote = time.Now()
		}
		ids, _ := target.get()
		return ids == "api"
	})
	// Reload (SIGHUP) reloads without a file change.
	_, loads := target.get()
	r.Reload()
	testenv.Eventually(t, 10*time.Second, "a reload after Reload", func() bool { _, n := target.get(); return n > loads })
}
