package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/checkfleet/checkfleet/internal/chromium"
	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/runtime/docker"
	"github.com/checkfleet/checkfleet/internal/runtime/docker/dockertest"
	"github.com/checkfleet/checkfleet/internal/runtime/process/processtest"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/sqslocal"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	runtimetest.RemoveBuilds()
	os.Exit(code)
}

// settings are the suite's knobs, from the environment.
type settings struct {
	duration time.Duration
	seed     uint64
	runtime  string
	settle   time.Duration
}

func readSettings(t *testing.T) settings {
	s := settings{duration: 3 * time.Minute, seed: rand.Uint64() % 1_000_000, settle: 5 * time.Minute}
	if v := os.Getenv("CHECKFLEET_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("CHECKFLEET_CHAOS_DURATION=%q: want a positive duration such as 3m", v)
		}
		s.duration = d
	}
	if v := os.Getenv("CHECKFLEET_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHECKFLEET_CHAOS_SEED=%q: want a number", v)
		}
		s.seed = n
	}
	if v := os.Getenv("CHECKFLEET_CHAOS_SETTLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("CHECKFLEET_CHAOS_SETTLE=%q: want a positive duration", v)
		}
		s.settle = d
	}
	s.runtime = os.Getenv("CHECKFLEET_CHAOS_RUNTIME")
	switch s.runtime {
	case "docker", "process":
	case "":
		// Docker where an engine answers (always in CI, where a missing
		// engine fails the run); the process runtime otherwise.
		s.runtime = "process"
		if testenv.CI() {
			s.runtime = "docker"
		} else if rt, err := docker.New(context.Background(), docker.Options{}); err == nil {
			rt.Close()
			s.runtime = "docker"
		}
	default:
		t.Fatalf("CHECKFLEET_CHAOS_RUNTIME=%q: want docker or process", s.runtime)
	}
	return s
}

// TestChaos runs the pipeline under faults and judges it by run id.
func TestChaos(t *testing.T) {
	testenv.Long(t, "the chaos suite runs for minutes; -short leaves it out (CI runs it)")
	cfg := readSettings(t)
	t.Logf("chaos: %s on the %s runtime, seed %d (replay: CHECKFLEET_CHAOS_SEED=%d)", cfg.duration, cfg.runtime, cfg.seed, cfg.seed)

	var h runtimetest.Harness
	var chromiumPath string
	if cfg.runtime == "docker" {
		h = dockertest.Harness(t)
	} else {
		var err error
		if chromiumPath, err = chromium.Find(""); err != nil {
			testenv.SkipOrFail(t, "%v: install Debian's chromium (apt-get install chromium)", err)
		}
		h = processtest.Harness(t)
	}
	dsn := pgtest.StartDurable(t)

	// The durable SQS endpoint, in this process so the suite controls its
	// faults, behind the tap that sees every accepted send.
	srv, err := sqslocal.New(sqslocal.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tap := NewTap(srv)
	hs := httptest.NewServer(tap)
	t.Cleanup(func() { _ = srv.Close(); hs.Close() })
	client, err := queue.NewClient(context.Background(), queue.ClientConfig{Endpoint: hs.URL, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	env := &queuetest.Env{Endpoint: hs.URL, Server: srv, Client: client}
	// The production defaults: 30 s visibility, five receives to the DLQ.
	jobs := env.Provision(t, queue.Spec{Name: "checkfleet-jobs-" + Location})
	results := env.Provision(t, queue.Spec{Name: "checkfleet-results"})
	tap.Watch(jobs.URL, results.URL)

	h.Publish(t, supervisortest.BuildWorker(t, TagV1), TagV1)
	h.Publish(t, supervisortest.BuildWorker(t, TagV2), TagV2)
	h.Publish(t, runtimetest.BuildFake(t, runtimetest.FakeNeverReady, ""), TagNeverReady)
	supBin := supervisortest.BuildCommand(t, "supervisor", "chaos")
	schedBin := supervisortest.BuildCommand(t, "scheduler", "chaos")
	launch := func(args ...string) *exec.Cmd { return exec.Command(supBin, args...) }
	host := supervisortest.NewHostOn(t, h, launch, env, jobs, results)

	targets := StartTargets(t)
	checks := filepath.Join(t.TempDir(), "checks.yaml")
	load := DefaultLoad
	if chromiumPath == "" {
		load.Browser = 0 // no Chromium in the test images (see SupervisorArgs)
	}
	if err := durable.WriteFile(checks, []byte(ChecksFile(load, targets)), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", runtimetest.FreePorts(t, "127.0.0.1", 1))
	sys := NewSystem(t, env, tap, jobs, results, dsn, host, schedBin, checks, listen)
	sys.SupervisorFlags = SupervisorArgs(chromiumPath)

	host.StartSupervisor(TagV1, sys.SupervisorFlags...)
	host.WaitSettled("", 2*time.Minute)
	poison := injectPoison(t, env, jobs.URL, results.URL, 3)
	sys.StartScheduler()
	testenv.Eventually(t, time.Minute, "scheduler serve ready", sys.SchedulerReady)

	// Faults, then quiet, then no new runs, then settle.
	inj := NewInjector(sys, cfg.seed)
	started := time.Now()
	inj.Run(started.Add(cfg.duration))
	notQuiet := inj.Quiesce(6 * time.Minute)
	if err := sys.Reload(IdleChecksFile(targets)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the scheduler reloaded with the idle checks", func() bool {
		n, err := sys.ChecksLoaded()
		return err == nil && n == 1
	})
	settleStart := time.Now()
	outstanding := settle(t, sys, poison, cfg.settle)
	settled := time.Since(settleStart)

	planned, recorded, err := ReadStore(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	sent, resends := tap.Jobs()
	v := Judge(planned, sent, resends, recorded, tap.ResultSends())
	q := judgeQueues(t, env, jobs, results, poison)

	var b strings.Builder
	fmt.Fprintf(&b, "chaos: %s on %s, seed %d (replay: CHECKFLEET_CHAOS_SEED=%d CHECKFLEET_CHAOS_DURATION=%s)\n",
		cfg.duration, cfg.runtime, cfg.seed, cfg.seed, cfg.duration)
	fmt.Fprintf(&b, "load:      %d fast, %d slow, 2 failing, %d hostile API checks; %d browser checks\n",
		load.Fast, load.Slow, len(HostilePaths()), load.Browser)
	fmt.Fprintf(&b, "faults:    %s\n", inj.Counts())
	fmt.Fprintf(&b, "outcomes:  %s\n", inj.Outcomes())
	fmt.Fprintf(&b, "exits:     %d unasked (scheduler or supervisor), %d of a running scheduler during outages\n", len(inj.SelfExits), len(inj.OutageExits))
	fmt.Fprintf(&b, "runs:      %d planned (outbox), %d sent (SQS accepted), %d expected, %d results recorded\n", v.Planned, v.Sent, v.Expected, v.Recorded)
	fmt.Fprintf(&b, "results:   by status %v, by worker version %v\n", v.ByStatus, v.ByVersion)
	fmt.Fprintf(&b, "verdict:   lost %d, doubled %d, unexpected %d, never sent %d; re-run %d and re-sent %d (recorded once)\n",
		len(v.Lost), len(v.Doubled), len(v.Unexpected), len(v.Unsent), v.ReRun, v.ResentJobs)
	fmt.Fprintf(&b, "queues:    %s\n", q.summary)
	fmt.Fprintf(&b, "lateness:  started %s; finished %s (over %d results)\n", v.Start, v.Finish, v.Start.N)
	fmt.Fprintf(&b, "settle:    %s%s%s\n", settled.Round(time.Second), ifNot(notQuiet, "; not quiet: "), ifNot(outstanding, "; outstanding: "))
	failed := v.Failed() || q.failed || notQuiet != "" || outstanding != ""
	fmt.Fprintf(&b, "result:    %s", map[bool]string{true: "FAIL", false: "PASS"}[failed])
	t.Log("\n" + b.String())

	if failed || len(inj.SelfExits) > 0 {
		dir := keepDetails(t, sys, inj, v, q, b.String())
		t.Logf("details (timeline, lost run ids, logs): %s", dir)
	}
	if failed {
		lost := v.LostByCheck()
		t.Errorf("the pipeline broke its promise; lost runs by check: %v; doubled: %v; unexpected: %v; never sent: %v; queues: %s",
			lost, firstN(v.Doubled, 5), firstN(v.Unexpected, 5), firstN(v.Unsent, 5), q.problems)
	}

	if code := sys.SignalScheduler(15, time.Minute); code != 0 {
		t.Errorf("scheduler exit %d after SIGTERM:\n%s", code, sys.SchedulerLogTail(20))
	}
	host.StopSupervisor()
}

func ifNot(s, prefix string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// Poison is what the suite puts in the queues on purpose: malformed
// messages by message id, each of which must end in its DLQ.
type Poison struct {
	Jobs, Results map[string]string // message id -> body
}

func injectPoison(t *testing.T, env *queuetest.Env, jobsURL, resultsURL string, n int) Poison {
	t.Helper()
	p := Poison{Jobs: map[string]string{}, Results: map[string]string{}}
	for i := range n {
		for url, into := range map[string]map[string]string{jobsURL: p.Jobs, resultsURL: p.Results} {
			body := fmt.Sprintf("chaos poison %d for %s: {not json", i, url[strings.LastIndex(url, "/")+1:])
			out, err := env.Client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
			if err != nil {
				t.Fatalf("send poison: %v", err)
			}
			into[aws.ToString(out.MessageId)] = body
		}
	}
	return p
}

// settle waits until nothing is left to happen: every planned run sent,
// every run with a result, the queues empty, the poison in the DLQs. It
// returns what was still outstanding at the deadline ("" when settled).
func settle(t *testing.T, sys *System, poison Poison, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		why := outstanding(t, sys, poison)
		if why == "" {
			return ""
		}
		if time.Now().After(deadline) {
			return why
		}
		time.Sleep(time.Second)
	}
}

func outstanding(t *testing.T, sys *System, poison Poison) string {
	planned, recorded, err := ReadStore(context.Background(), sys.DSN)
	if err != nil {
		return err.Error()
	}
	sent, resends := sys.Tap.Jobs()
	v := Judge(planned, sent, resends, recorded, nil)
	var why []string
	if len(v.Unsent) > 0 {
		why = append(why, fmt.Sprintf("%d planned runs not sent", len(v.Unsent)))
	}
	if len(v.Lost) > 0 {
		why = append(why, fmt.Sprintf("%d runs without a result", len(v.Lost)))
	}
	for _, q := range []struct {
		name, url string
		want      int
	}{{"jobs", sys.Jobs.URL, 0}, {"results", sys.Results.URL, 0}, {"jobs DLQ", sys.Jobs.DLQURL, len(poison.Jobs)}, {"results DLQ", sys.Results.DLQURL, len(poison.Results)}} {
		c := sys.SQS.Counts(t, q.url)
		if (q.want == 0 && c.Total() > 0) || c.Total() < q.want {
			why = append(why, fmt.Sprintf("%s holds %+v, want %d", q.name, c, q.want))
		}
	}
	return strings.Join(why, "; ")
}

// queueVerdict is what the queues held at the end.
type queueVerdict struct {
	summary, problems string
	failed            bool
	deadLettered      []string // what the DLQs held that was not poison
}

// judgeQueues requires empty queues and DLQs holding exactly the poison
// (by message id and body); it drains the DLQs.
func judgeQueues(t *testing.T, env *queuetest.Env, jobs, results queue.Provisioned, poison Poison) queueVerdict {
	var v queueVerdict
	var problems []string
	jc, rc := env.Counts(t, jobs.URL), env.Counts(t, results.URL)
	if jc.Total() > 0 || rc.Total() > 0 {
		problems = append(problems, fmt.Sprintf("stuck: jobs %+v, results %+v", jc, rc))
	}
	var parts []string
	for _, d := range []struct {
		name, url string
		want      map[string]string
	}{{"jobs DLQ", jobs.DLQURL, poison.Jobs}, {"results DLQ", results.DLQURL, poison.Results}} {
		found, other := 0, 0
		for _, m := range env.Drain(t, d.url) {
			id, body := aws.ToString(m.MessageId), aws.ToString(m.Body)
			if d.want[id] == body {
				found++
				continue
			}
			other++
			v.deadLettered = append(v.deadLettered, fmt.Sprintf("%s: %s", d.name, describe(body)))
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d poison + %d other", d.name, found, len(d.want), other))
		if found != len(d.want) || other > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d of %d poison messages, %d others", d.name, found, len(d.want), other))
		}
	}
	sort.Strings(v.deadLettered)
	v.summary = fmt.Sprintf("at the end jobs %d, results %d in flight or waiting; %s", jc.Total(), rc.Total(), strings.Join(parts, ", "))
	v.problems = strings.Join(problems, "; ")
	if len(v.deadLettered) > 0 {
		v.problems += "; dead-lettered: " + strings.Join(firstN(v.deadLettered, 5), " | ")
	}
	v.failed = len(problems) > 0
	return v
}

// describe names a dead-lettered message by what it was for.
func describe(body string) string {
	if j, err := message.DecodeJob([]byte(body)); err == nil {
		return "job run " + j.RunID + " of check " + j.CheckID
	}
	if r, _, err := message.DecodeResult([]byte(body)); err == nil {
		return "result run " + r.RunID + " of check " + r.CheckID
	}
	if len(body) > 120 {
		body = body[:120] + "…"
	}
	return strconv.Quote(body)
}

// keepDetails writes the timeline, the lost run ids and the logs to a
// directory left for the reader, and returns it.
func keepDetails(t *testing.T, sys *System, inj *Injector, v Verdict, q queueVerdict, summary string) string {
	dir, err := os.MkdirTemp("", "checkfleet-chaos-")
	if err != nil {
		t.Logf("keep details: %v", err)
		return ""
	}
	var lost []string
	for run, check := range v.Lost {
		lost = append(lost, check+" "+run)
	}
	sort.Strings(lost)
	files := map[string]string{
		"summary.txt":   summary + "\n",
		"timeline.txt":  inj.Timeline() + "\n",
		"exits.txt":     strings.Join(append(inj.SelfExits, inj.OutageExits...), "\n") + "\n",
		"lost.txt":      strings.Join(lost, "\n") + "\n",
		"doubled.txt":   strings.Join(v.Doubled, "\n") + "\n",
		"dlq.txt":       strings.Join(q.deadLettered, "\n") + "\n",
		"scheduler.log": sys.SchedulerLogs(),
	}
	if p := sys.Host.Supervisor(); p != nil {
		files["supervisor.log"] = p.Stderr()
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Logf("keep details: %v", err)
		}
	}
	return dir
}
