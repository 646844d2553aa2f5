package supervisor

import (
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Name, ok.Repo, ok.StateDir = "h", "repo", "/tmp/x"
	ok.Worker.JobsQueues, ok.Worker.ResultsQueue = []string{"q"}, "r"
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"slots":       {func(c *Config) { c.Slots = 0 }, "--slots 0"},
		"on-restart":  {func(c *Config) { c.OnRestart = "later" }, `--on-restart "later"`},
		"short drain": {func(c *Config) { c.DrainTimeout = 30 * time.Second }, "shorter than the workers' drain"},
		"env owned":   {func(c *Config) { c.Worker.Env = []string{"CHECKFLEET_HEALTH_LISTEN=x"} }, "set by the supervisor"},
		"env form":    {func(c *Config) { c.Worker.Env = []string{"NOEQUALS"} }, "want KEY=VALUE"},
		"no queue":    {func(c *Config) { c.Worker.JobsQueues = nil }, "--jobs-queue"},
		"ports":       {func(c *Config) { c.HealthBasePort = 65530 }, "--health-base-port"},
		"host":        {func(c *Config) { c.HealthHost = "localhost" }, "--health-host"},
		"name":        {func(c *Config) { c.Name = "host:1" }, `--name "host:1"`},

		"worker drain shorter than the longest check": {func(c *Config) { c.Worker.DrainTimeout = time.Minute },
			"--worker-drain-timeout 1m0s: shorter than the longest check the workers run (4m0s) plus 5s"},
		"worker drain shorter than its checks": {func(c *Config) { c.Worker.MaxCheckTimeout, c.Worker.DrainTimeout = 30*time.Second, 34*time.Second },
			"want at least 35s"},
		"worker checks longer than any": {func(c *Config) { c.Worker.MaxCheckTimeout = 5 * time.Minute }, "--worker-max-check-timeout 5m0s"},
	} {
		c := ok
		c.Worker.Env = nil
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	short := ok
	short.Worker.MaxCheckTimeout, short.Worker.DrainTimeout, short.DrainTimeout = 30*time.Second, 35*time.Second, 55*time.Second
	if err := short.Validate(); err != nil {
		t.Errorf("workers running checks of at most 30s with a 35s drain: %v", err)
	}
	env := ok.Worker
	env.Env = []string{"AWS_REGION=x", "CHECKFLEET_CONCURRENCY=9"}
	env.Concurrency, env.MaxCheckTimeout = 3, 30*time.Second
	got := strings.Join(env.Environ("127.0.0.1:9110", "h-slot0-x", runtime.Image{ID: "sha256:1", Ref: "r:t"}), " ")
	for _, want := range []string{"AWS_REGION=x", "CHECKFLEET_CONCURRENCY=3", "CHECKFLEET_HEALTH_LISTEN=127.0.0.1:9110", "CHECKFLEET_IMAGE=r:t@sha256:1", "CHECKFLEET_JOBS_QUEUE=q", "CHECKFLEET_MAX_CHECK_TIMEOUT=30s", "CHECKFLEET_DRAIN_TIMEOUT=4m30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("env %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "CHECKFLEET_CONCURRENCY=9") {
		t.Errorf("env %q: the --concurrency flag must win over --worker-env", got)
	}
}

func TestSumCounter(t *testing.T) {
	text := `# HELP checkfleet_worker_checks_total Checks.
# TYPE checkfleet_worker_checks_total counter
checkfleet_worker_checks_total{status="passed",type="api"} 12
checkfleet_worker_checks_total{status="failed",type="a}pi"} 3
checkfleet_worker_checks_totalx 100
checkfleet_worker_check_duration_seconds_count 7
`
	if got, err := sumCounter(text, checksMetric); err != nil || got != 15 {
		t.Fatalf("sum %v, %v, want 15", got, err)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := readState(dir); ok || err != nil {
		t.Fatalf("empty dir: %v %v", ok, err)
	}
	want := State{Current: runtime.Image{ID: "sha256:1", Ref: "r:1"}, Slots: []runtime.Image{{ID: "sha256:1"}}}
	if err := newStateFile(dir).open(want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := readState(dir)
	if err != nil || !ok || got.Current != want.Current || len(got.Slots) != 1 {
		t.Fatalf("round trip: %+v %v %v", got, ok, err)
	}
	if err := writeFile(statePath(dir), "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readState(dir); err == nil || !strings.Contains(err.Error(), statePath(dir)) {
		t.Fatalf("corrupt state: %v, want an error naming the file", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another supervisor") {
		t.Fatalf("second lock: %v", err)
	}
}
