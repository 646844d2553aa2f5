package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
)

// Tags of the two versions the fleet moves between, and of the build that
// never answers ready.
const (
	TagV1         = supervisortest.TagV1
	TagV2         = supervisortest.TagV2
	TagNeverReady = supervisortest.TagNeverReady
)

// System is the pipeline under test: the SQS endpoint (in this process,
// behind the Tap), the PostgreSQL store, `scheduler serve` as a process
// and a host whose supervisor runs five worker slots.
type System struct {
	t       testing.TB
	SQS     *queuetest.Env
	Tap     *Tap
	Jobs    queue.Provisioned
	Results queue.Provisioned
	// DSN is the store's connection string; Durable says which pgtest
	// cluster it lives on (for StopServer and StartServer).
	DSN  string
	Host *supervisortest.Host
	// SupervisorFlags are added to `supervisor run` on every start.
	SupervisorFlags []string

	// Checks is the checks file the scheduler watches.
	Checks string
	// SchedulerURL is the base URL of the scheduler's HTTP server.
	SchedulerURL string
	schedBin     string
	schedArgs    []string
	sched        *supervisortest.Proc
	schedLogs    []*supervisortest.Proc
}

// NewSystem wires the parts; StartScheduler and Host.StartSupervisor start
// the processes.
func NewSystem(t testing.TB, env *queuetest.Env, tap *Tap, jobs, results queue.Provisioned, dsn string,
	host *supervisortest.Host, schedulerBin, checks string, listen string) *System {
	return &System{t: t, SQS: env, Tap: tap, Jobs: jobs, Results: results, DSN: dsn, Host: host,
		Checks: checks, SchedulerURL: "http://" + listen, schedBin: schedulerBin,
		schedArgs: []string{"serve", "--checks", checks, "--store", dsn, "--jobs-queue", Location + "=" + jobs.URL,
			"--results-queue", results.URL, "--listen", listen, "--token", "chaos"},
	}
}

// SupervisorArgs are the flags given to `supervisor run` on top of
// supervisortest's: the product's defaults for the workers (concurrency, poll
// wait, drain), and browser checks on Chromium at chromium, off when it
// is "" (the test images of the Docker runtime hold the worker alone, no
// Chromium, and a worker asked for browser checks without one refuses to
// start).
func SupervisorArgs(chromium string) []string {
	args := append(supervisortest.ProductDefaults(), "--log-level", "info")
	if chromium == "" {
		return append(args, "--worker-env", "CHECKFLEET_BROWSER_CONCURRENCY=0")
	}
	// The workers' environment holds no PATH to find it by.
	return append(args, "--worker-env", "CHECKFLEET_BROWSER_CONCURRENCY=2", "--worker-env", "CHECKFLEET_CHROMIUM="+chromium)
}

// StartScheduler starts `scheduler serve`; it does not wait for it.
func (s *System) StartScheduler() {
	s.t.Helper()
	cmd := exec.Command(s.schedBin, s.schedArgs...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_SQS="+s.SQS.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	s.sched = supervisortest.StartProc(s.t, cmd)
	s.schedLogs = append(s.schedLogs, s.sched)
}

// Scheduler is the current scheduler process (nil before the first start).
func (s *System) Scheduler() *supervisortest.Proc { return s.sched }

// SignalScheduler sends sig to the scheduler and waits for its exit.
func (s *System) SignalScheduler(sig syscall.Signal, within time.Duration) int {
	s.t.Helper()
	if s.sched == nil || s.sched.Exited() {
		return -1
	}
	_ = syscall.Kill(s.sched.Pid(), sig)
	return s.sched.Wait(s.t, within)
}

// SchedulerReady reports whether the scheduler answers /readyz (its store
// answers too).
func (s *System) SchedulerReady() bool {
	return httpOK(s.SchedulerURL + "/readyz")
}

// ChecksLoaded is the number of checks the scheduler runs, from
// /api/v1/status.
func (s *System) ChecksLoaded() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.SchedulerURL+"/api/v1/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Loaded int `json:"checks_loaded"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("/api/v1/status: %w", err)
	}
	return st.Loaded, nil
}

// Reload replaces the checks file and sends SIGHUP.
func (s *System) Reload(content string) error {
	// Replaced whole, never seen half written: the scheduler watches it.
	if err := durable.WriteFile(s.Checks, []byte(content), 0o644); err != nil {
		return err
	}
	if s.sched != nil && !s.sched.Exited() {
		return syscall.Kill(s.sched.Pid(), syscall.SIGHUP)
	}
	return nil
}

// SchedulerLogTail is the end of the logs of the scheduler processes so far.
func (s *System) SchedulerLogTail(lines int) string {
	var b strings.Builder
	for i, p := range s.schedLogs {
		if i < len(s.schedLogs)-3 {
			continue
		}
		fmt.Fprintf(&b, "--- scheduler process %d of %d (pid %d):\n%s\n", i+1, len(s.schedLogs), p.Pid(), p.Tail(lines))
	}
	return b.String()
}

// SchedulerLogs are the whole logs of every scheduler process so far.
func (s *System) SchedulerLogs() string {
	var b strings.Builder
	for i, p := range s.schedLogs {
		fmt.Fprintf(&b, "--- scheduler process %d (pid %d):\n%s\n", i+1, p.Pid(), p.Stderr())
	}
	return b.String()
}

// Workers lists the running worker instances of the host.
func (s *System) Workers() ([]runtime.Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := s.Host.Observer.List(ctx, s.Host.OwnLabels())
	if err != nil {
		return nil, err
	}
	var out []runtime.Instance
	for _, in := range list {
		if in.State == runtime.Running && in.PID > 0 {
			out = append(out, in)
		}
	}
	return out, nil
}

// FleetSettled says why the host is not settled (no upgrade running, every
// slot ready), or "" when it is.
func (s *System) FleetSettled() string {
	if p := s.Host.Supervisor(); p == nil || p.Exited() {
		return "the supervisor is not running"
	}
	st, err := s.Host.Status()
	switch {
	case err != nil:
		return err.Error()
	case st.Upgrade != nil:
		return "an upgrade is in progress"
	case st.Want != supervisortest.Slots || st.Ready != st.Want:
		return fmt.Sprintf("%d of %d slots ready", st.Ready, st.Want)
	}
	return ""
}

// CurrentTag is the tag the host runs, from the supervisor's status.
func (s *System) CurrentTag() (string, error) {
	st, err := s.Host.Status()
	if err != nil {
		return "", err
	}
	return tagOf(st), nil
}

func tagOf(st supervisorapi.Status) string {
	_, tag, _ := strings.Cut(st.Current.Ref[strings.LastIndex(st.Current.Ref, "/")+1:], ":")
	return tag
}

func httpOK(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
