// Tests of the real images (worker, supervisor, scheduler) built as `make
// images` builds them: docker/images.sh on the local base, the binaries
// from this checkout. Each build is made once per test process and removed
// at its end; the base and the runtime-stage caches are kept, so a second
// run builds in seconds.
package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/docker/dockertest"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/supervisor"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// run marks what this test process builds (images) and starts.
var run = fmt.Sprintf("%08x", rand.Uint32())

func TestMain(m *testing.M) {
	code := m.Run()
	removeImages()
	runtimetest.RemoveBuilds()
	os.Exit(code)
}

// builds are the images this process built, by name and version.
var builds struct {
	sync.Mutex
	done map[string]string // "worker v1" -> tag
	errs map[string]error
}

// buildImage builds the image name (worker, supervisor, scheduler) at
// version with docker/images.sh, once per test process, and returns its
// reference (checkfleet-NAME:TAG).
func buildImage(t *testing.T, name, version string) string {
	t.Helper()
	testenv.Long(t, "builds Docker images")
	dockertest.Connect(t) // skips (fails in CI) without an engine
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.SkipOrFail(t, "the docker CLI builds the images: apt-get install docker.io")
	}
	builds.Lock()
	defer builds.Unlock()
	if builds.done == nil {
		builds.done, builds.errs = map[string]string{}, map[string]error{}
	}
	key := name + " " + version
	if err := builds.errs[key]; err != nil {
		t.Fatal(err)
	}
	tag := "test-" + run + "-" + version
	ref := "checkfleet-" + name + ":" + tag
	if _, ok := builds.done[key]; ok {
		return ref
	}
	if !baseBuildable() {
		testenv.SkipOrFail(t, "checkfleet-base:bookworm is missing and cannot be built here: "+
			"debootstrap needs root and the debootstrap package (apt-get install debootstrap), or run `sudo make base-image` once")
	}
	start := time.Now()
	cmd := exec.Command("./images.sh")
	cmd.Env = append(os.Environ(), "TAG="+tag, "VERSION="+version, "IMAGES="+name,
		"LABELS="+dockertest.LabelTest+"="+run, "REVISION=test")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		builds.errs[key] = fmt.Errorf("docker/images.sh %s %s: %v\n%s", name, version, err, out.Bytes())
		t.Fatal(builds.errs[key])
	}
	builds.done[key] = ref
	t.Logf("built %s (version %s) in %s", ref, version, time.Since(start).Round(time.Second))
	return ref
}

// baseBuildable reports whether images.sh can get its base: it is there,
// or this process may run debootstrap.
func baseBuildable() bool {
	if exec.Command("docker", "image", "inspect", "checkfleet-base:bookworm").Run() == nil {
		return true
	}
	_, err := exec.LookPath("debootstrap")
	return err == nil && os.Getuid() == 0
}

// removeImages removes every image this process built.
func removeImages() {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer cli.Close()
	ctx := context.Background()
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelTest+"="+run))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "list the test images: %v\n", err)
		return
	}
	for _, img := range imgs {
		if _, err := cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			fmt.Fprintf(os.Stderr, "remove test image %s: %v\n", img.ID, err)
		}
	}
}

// repoTag splits an image reference.
func repoTag(ref string) (string, string) {
	i := strings.LastIndex(ref, ":")
	return ref[:i], ref[i+1:]
}

// The worker image runs a real browser check (Chromium and its fonts in
// the image, a page served here on loopback) and an API check from the
// jobs queue, in a container the supervisor's Docker runtime starts as it
// starts every worker (read-only root, user 65532, no capabilities, the
// supervisor's memory and pids limits, host network); both results come
// back on the results queue under their run ids. Docker's HEALTHCHECK (the
// worker binary asking its /readyz) turns healthy, and SIGTERM through tini
// drains the worker to exit 0.
func TestWorkerImageRunsChecks(t *testing.T) {
	ref := buildImage(t, "worker", "v1")
	rt := dockertest.Connect(t)
	ctx := context.Background()

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html><head><title>checkfleet image test</title></head><body>
<h1 id="hello">…</h1><button id="go" onclick="document.getElementById('out').textContent='clicked ✓'">go</button><p id="out"></p>
<script>document.getElementById('hello').textContent = 'Hello 世界 こんにちは 안녕하세요 👋';</script></body></html>`)
		case "/api":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"ok","items":[1,2,3]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer target.Close()

	sqs := queuetest.Start(t)
	jobs := sqs.Provision(t, queue.Spec{Name: "checkfleet-jobs-imagetest", VisibilityTimeout: 60 * time.Second})
	results := sqs.Provision(t, queue.Spec{Name: "checkfleet-results-imagetest", VisibilityTimeout: 5 * time.Second})
	ip := runtimetest.LoopbackIP(t)
	health := fmt.Sprintf("%s:%d", ip, runtimetest.FreePorts(t, ip, 1))

	repo, tag := repoTag(ref)
	img, err := rt.Resolve(ctx, repo, tag, runtime.PullNever)
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.Create(ctx, runtime.Spec{
		Name: "checkfleet-imagetest", Image: img, Args: []string{"run"},
		Env: []string{
			"CHECKFLEET_JOBS_QUEUE=" + jobs.URL, "CHECKFLEET_RESULTS_QUEUE=" + results.URL,
			"CHECKFLEET_HEALTH_LISTEN=" + health, "CHECKFLEET_ALLOW_NET=127.0.0.0/8", "CHECKFLEET_POLL_WAIT=1s",
			"CHECKFLEET_ID=imagetest-" + run, "CHECKFLEET_IMAGE=" + string(img.ID),
			"AWS_ENDPOINT_URL_SQS=" + sqs.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		},
		Labels:      map[string]string{dockertest.LabelTest: run},
		Limits:      supervisor.DefaultConfig().Limits,
		StopTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := rt.Logs(context.Background(), id, 60)
			t.Logf("worker container log (tail):\n%s", logs)
		}
		if err := rt.Remove(context.Background(), id); err != nil {
			t.Errorf("remove the worker container: %v", err)
		}
	})
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Ready means Chromium started and answers (the worker waits for it).
	testenv.EventuallyNil(t, 90*time.Second, "the worker in the image to be ready on "+health, func() error {
		if in, err := rt.Inspect(ctx, id); err != nil || in.State != runtime.Running {
			t.Fatalf("the worker container is not running: %+v, %v", in, err)
		}
		return getOK("http://" + health + "/readyz")
	})

	send := func(c check.Check) string {
		runID := "run-" + c.ID + "-" + run
		body, err := message.EncodeJob(message.Job{RunID: runID, CheckID: c.ID, Location: "test", Attempt: 1,
			ScheduledAt: time.Now().UTC(), Check: c}, message.V2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := queue.New(sqs.Client, jobs.URL).Send(ctx, queue.Outgoing{Body: body,
			Attributes: map[string]string{message.SchemaAttribute: message.JobV2}}); err != nil {
			t.Fatal(err)
		}
		return runID
	}
	browserRun := send(check.Check{ID: "browser", Type: check.TypeBrowser, Timeout: 60 * time.Second,
		Browser: &check.BrowserSpec{Steps: []check.Step{
			{Action: check.ActionGoto, URL: target.URL + "/"},
			{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "checkfleet image test"},
			{Action: check.ActionAssertText, Selector: "#hello", Matcher: check.MatchContains, Value: "世界 こんにちは 안녕하세요 👋"},
			{Action: check.ActionClick, Selector: "#go"},
			{Action: check.ActionAssertText, Selector: "#out", Matcher: check.MatchEquals, Value: "clicked ✓"},
			{Action: check.ActionScreenshot},
		}}})
	apiRun := send(check.Check{ID: "api", Type: check.TypeAPI, Timeout: 10 * time.Second,
		API: &check.APISpec{Method: http.MethodGet, URL: target.URL + "/api"},
		Assertions: []check.Assertion{
			{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"},
			{Source: check.SourceJSONBody, Property: "$.status", Comparison: check.Equals, Target: "ok"},
		}})

	got := map[string]check.Result{}
	testenv.EventuallyNil(t, 2*time.Minute, "results of both runs on the results queue", func() error {
		for _, m := range sqs.Drain(t, results.URL) {
			res, _, err := message.DecodeResult([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatalf("a result does not decode: %v", err)
			}
			got[res.RunID] = res
		}
		for _, r := range []string{browserRun, apiRun} {
			if _, ok := got[r]; !ok {
				return fmt.Errorf("no result for %s yet (have %d)", r, len(got))
			}
		}
		return nil
	})
	for _, r := range []string{browserRun, apiRun} {
		res := got[r]
		if res.Status != check.StatusPassed || res.Worker.Version != "v1" || res.Worker.ID != "imagetest-"+run || res.Worker.Image != string(img.ID) {
			b, _ := json.MarshalIndent(res, "", "  ")
			t.Errorf("run %s: status %s, worker %+v; want passed on the image's worker v1\n%s", r, res.Status, res.Worker, b)
		}
	}
	if b := got[browserRun].Browser; b == nil || len(b.Steps) != 6 || !bytes.HasPrefix(b.Screenshot, []byte{0xff, 0xd8}) {
		t.Errorf("browser result %+v: want six steps and a JPEG screenshot", b)
	}
	if h := got[apiRun].HTTP; h == nil || h.StatusCode != http.StatusOK {
		t.Errorf("API result %+v: want 200", h)
	}

	// HEALTHCHECK: `worker healthcheck` in the container finds /readyz
	// through CHECKFLEET_HEALTH_LISTEN.
	testenv.EventuallyNil(t, 90*time.Second, "Docker to call the container healthy", func() error {
		c, err := rt.Client().ContainerInspect(ctx, string(id))
		if err != nil {
			return err
		}
		if c.State.Health == nil {
			return fmt.Errorf("no health state: the image has no HEALTHCHECK")
		}
		if c.State.Health.Status != "healthy" {
			var last string
			if n := len(c.State.Health.Log); n > 0 {
				last = fmt.Sprintf("; last probe exit %d: %s", c.State.Health.Log[n-1].ExitCode, c.State.Health.Log[n-1].Output)
			}
			return fmt.Errorf("health %s%s", c.State.Health.Status, last)
		}
		return nil
	})

	// PID 1 is tini, which hands SIGTERM to the worker: it drains and
	// exits 0, and tini with it.
	if err := rt.Signal(ctx, id, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	in, err := rt.Wait(wctx, id)
	if err != nil || in.State != runtime.Exited || in.ExitCode != 0 {
		t.Fatalf("after SIGTERM: %+v, %v; want exited 0 (drained)", in, err)
	}
}

// `supervisor upgrade` moves the five slots of a supervisor on the Docker
// runtime from one build of the real worker image to another (versions v1
// and v2) under a stream of API checks: every slot ends on the new image
// and its worker reports v2, and every job sent has a result.
func TestSupervisorUpgradesBetweenImageBuilds(t *testing.T) {
	v1 := buildImage(t, "worker", "v1")
	v2 := buildImage(t, "worker", "v2")
	repo, tag1 := repoTag(v1)
	_, tag2 := repoTag(v2)
	bin := supervisortest.BuildCommand(t, "supervisor", "imagetest")
	h := runtimetest.Harness{
		Name: "docker", Repo: repo,
		Runtime:  func(t testing.TB, _ string, _ bool) runtime.Runtime { return dockertest.Connect(t) },
		RunFlags: []string{"--runtime", "docker"},
	}
	x := supervisortest.NewHost(t, h, func(args ...string) *exec.Cmd { return exec.Command(bin, args...) })
	x.StartSupervisor(tag1)
	before := x.WaitSettled("", 3*time.Minute)
	requireVersions(t, before, "v1")

	load := supervisortest.StartLoad(t, x, 100*time.Millisecond, 10, time.Second)
	code, out, stderr := x.CLI("upgrade", "--tag", tag2, "--ready-timeout", "90s", "--drain-timeout", "30s", "--output", "json")
	if code != 0 {
		t.Fatalf("supervisor upgrade --tag %s: exit %d\n%s\n%s", tag2, code, out, stderr)
	}
	after := x.WaitSettled("", time.Minute)
	if after.Current.ID == before.Current.ID || after.Current.Ref != v2 || after.Previous == nil || after.Previous.ID != before.Current.ID {
		t.Fatalf("after the upgrade: current %s, previous %v; want %s, previous %s", after.Current, after.Previous, v2, before.Current)
	}
	x.WaitSettled(after.Current.ID, 30*time.Second)
	requireVersions(t, after, "v2")
	load.Stop(t)
	x.StopSupervisor() // drains every worker: the last checks finish
	o := load.Verify(t, time.Minute)
	t.Logf("%d jobs, %d results, %d duplicates, by worker version %v", o.Sent, len(o.Results), o.Duplicates, o.ByVersion)
}

// requireVersions asks every slot's worker (GET /info on its health port)
// for its version.
func requireVersions(t *testing.T, st supervisorapi.Status, want string) {
	t.Helper()
	if len(st.Slots) != supervisortest.Slots {
		t.Fatalf("%d slots, want %d", len(st.Slots), supervisortest.Slots)
	}
	for _, sl := range st.Slots {
		in := sl.Instances[0]
		var info supervisorapi.WorkerInfo
		if err := getJSON("http://"+in.Health+"/info", &info); err != nil {
			t.Fatalf("slot %d: %v", sl.Slot, err)
		}
		if info.Version != want || in.Image.ID != sl.Desired.ID {
			t.Errorf("slot %d: worker version %q on image %s (desired %s); want %s", sl.Slot, info.Version, in.Image, sl.Desired, want)
		}
	}
}

// The supervisor and scheduler images run their binary at the stamped
// version as the non-root user under tini, and say what they are (OCI
// labels, a HEALTHCHECK calling the binary).
func TestSupervisorAndSchedulerImages(t *testing.T) {
	for _, name := range []string{"supervisor", "scheduler"} {
		t.Run(name, func(t *testing.T) {
			ref := buildImage(t, name, "v3")
			rt := dockertest.Connect(t)
			ctx := context.Background()
			img, err := rt.Client().ImageInspect(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			c := img.Config
			wantLabels := map[string]string{"org.opencontainers.image.version": "v3", "org.opencontainers.image.revision": "test",
				"org.opencontainers.image.source": "https://github.com/checkfleet/checkfleet", "org.opencontainers.image.title": "checkfleet-" + name}
			for k, v := range wantLabels {
				if c.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
				}
			}
			bin := "/usr/local/bin/" + name
			if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/usr/bin/tini -- "+bin ||
				c.Healthcheck == nil || len(c.Healthcheck.Test) < 2 || c.Healthcheck.Test[1] != bin {
				t.Errorf("user %q, entrypoint %q, healthcheck %+v; want 65532:65532, tini then %s, a HEALTHCHECK calling %s", c.User, c.Entrypoint, c.Healthcheck, bin, bin)
			}
			repo, tag := repoTag(ref)
			rimg, err := rt.Resolve(ctx, repo, tag, runtime.PullNever)
			if err != nil {
				t.Fatal(err)
			}
			id, err := rt.Create(ctx, runtime.Spec{Name: "checkfleet-imagetest-" + name, Image: rimg, Args: []string{"version"},
				Labels: map[string]string{dockertest.LabelTest: run}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Remove(context.Background(), id) })
			if err := rt.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			in, err := rt.Wait(wctx, id)
			logs, _ := rt.Logs(ctx, id, 10)
			if err != nil || in.ExitCode != 0 || !strings.HasPrefix(logs, name+" v3 ") {
				t.Errorf("%s version in the image: %+v, %v, output %q; want exit 0 and %q", name, in, err, logs, name+" v3 ...")
			}
		})
	}
}

// The scripts behind `make base-image` and `make images` pass shellcheck.
func TestScriptsPassShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	testenv.Require(t, err, "apt-get install shellcheck")
	scripts, err := filepath.Glob("*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in docker/: %v", err)
	}
	if out, err := exec.Command(sc, scripts...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s: %v\n%s", strings.Join(scripts, " "), err, out)
	}
}

func getOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
