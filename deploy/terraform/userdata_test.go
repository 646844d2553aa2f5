package terraform_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

const (
	workerTemplate  = "modules/worker_hosts/user_data.sh.tftpl"
	controlTemplate = "modules/control_plane/user_data.sh.tftpl"
	supervisorUnit  = "../systemd/checkfleet-supervisor.service"
	// userDataLimit is EC2's limit on user data (before base64).
	userDataLimit = 16 << 10
)

// render renders a user data template as Terraform's templatefile does
// (the same HCL template language; the templates call no function).
func render(t *testing.T, path string, vars map[string]cty.Value) string {
	t.Helper()
	expr, diags := hclsyntax.ParseTemplate(readFile(t, path), path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", path, diags.Error())
	}
	v, diags := expr.Value(&hcl.EvalContext{Variables: vars})
	if diags.HasErrors() {
		t.Fatalf("render %s: %s", path, diags.Error())
	}
	return v.AsString()
}

// hostConfig is a worker host's configuration block as modules/worker_hosts
// renders it: shell assignments in single quotes.
func hostConfig(values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s='%s'\n", k, strings.ReplaceAll(values[k], "'", `'\''`))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func workerValues(supervisorURL, sha string) map[string]string {
	return map[string]string{
		"CF_HOST":              "w-03",
		"CF_REGION":            "eu-west-1",
		"CF_RING":              "production",
		"CF_IMAGE":             "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkfleet-worker",
		"CF_TAG":               "v1.4.2",
		"CF_REGISTRY":          "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		"CF_SLOTS":             "5",
		"CF_JOBS_QUEUES":       "https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-jobs-eu-west-1,https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-jobs-dublin",
		"CF_RESULTS_QUEUE":     "https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-results-eu-west-1",
		"CF_SUPERVISOR_URL":    supervisorURL,
		"CF_SUPERVISOR_SHA256": sha,
		"CF_CONTROL_URL":       "http://203.0.113.10:8080",
		"CF_HOST_TOKEN":        "host-token-of-w-03",
		"CF_JOIN_TOKEN":        "the-join-token",
		"CF_READY_TIMEOUT":     "10m",
	}
}

func renderWorker(t *testing.T, values map[string]string) string {
	t.Helper()
	return render(t, workerTemplate, map[string]cty.Value{
		"config":          cty.StringVal(hostConfig(values)),
		"supervisor_unit": cty.StringVal(string(readFile(t, supervisorUnit))),
	})
}

func renderControlPlane(t *testing.T) string {
	t.Helper()
	s := func(v string) cty.Value { return cty.StringVal(v) }
	return render(t, controlTemplate, map[string]cty.Value{
		"slot": s("next"), "region": s("eu-west-1"),
		"scheduler_url": s("s3://releases/v1.4.2/scheduler"), "scheduler_sha256": s(strings.Repeat("ab", 32)),
		"checks_s3_uri": s("s3://config/checks.yaml"), "db_host": s("db.example.internal"), "db_port": cty.NumberIntVal(5432),
		"db_name": s("checkfleet"), "db_secret_arn": s("arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-x"),
		"jobs_queues":   s("eu-west-1=https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-jobs-eu-west-1"),
		"results_queue": s("https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-results-eu-west-1"),
		"api_token":     s("api-token"), "fleet_join_token": s("join-token"),
	})
}

// TestUserDataConfigMatchesTheModule: the values the worker_hosts module
// renders into the user data are exactly those the script requires.
func TestUserDataConfigMatchesTheModule(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*(CF_[A-Z0-9_]+)\s*=`)
	var module []string
	for _, m := range re.FindAllStringSubmatch(string(readFile(t, "modules/worker_hosts/main.tf")), -1) {
		module = append(module, m[1])
	}
	slices.Sort(module)
	tpl := string(readFile(t, workerTemplate))
	loop := regexp.MustCompile(`(?s)for name in (.*?); do`).FindStringSubmatch(tpl)
	if loop == nil {
		t.Fatal("user data: no `for name in ...; do` list of required values")
	}
	required := strings.Fields(strings.ReplaceAll(loop[1], `\`, " "))
	slices.Sort(required)
	if !slices.Equal(module, required) {
		t.Errorf("modules/worker_hosts renders %v, the user data requires %v", module, required)
	}
	var tested []string
	for k := range workerValues("", "") {
		tested = append(tested, k)
	}
	slices.Sort(tested)
	if !slices.Equal(tested, required) {
		t.Errorf("this test renders %v, the user data requires %v", tested, required)
	}
}

// TestUserDataIsValidBash: both hosts' user data, rendered, fit EC2's
// 16 KiB, parse (bash -n) and pass shellcheck.
func TestUserDataIsValidBash(t *testing.T) {
	scripts := map[string]string{
		"worker.sh":        renderWorker(t, workerValues("https://releases.example/supervisor", strings.Repeat("0", 64))),
		"control-plane.sh": renderControlPlane(t),
		"wait-ready.sh":    string(readFile(t, "scripts/wait-ready.sh")),
	}
	dir := t.TempDir()
	var paths []string
	for name, s := range scripts {
		if name != "wait-ready.sh" && len(s) > userDataLimit {
			t.Errorf("%s: %d bytes rendered, EC2 takes at most %d", name, len(s), userDataLimit)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", name, err, out)
		}
		paths = append(paths, p)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	testenv.Require(t, err, "apt-get install shellcheck")
	if out, err := exec.Command(shellcheck, append([]string{"--shell=bash", "--severity=style"}, paths...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// fakeSupervisor is the release the container test installs: it answers
// `status --wait-ready` as told by /stubs/status-fail and logs its calls.
const fakeSupervisor = `#!/bin/bash
echo "$*" >>/stubs/log/supervisor
if [ "$1" = status ] && [ -e /stubs/status-fail ]; then
	echo "supervisor: not ready after 10m0s: 3 of 5 slots ready; slot 4: not ready" >&2
	exit 1
fi
echo "5 of 5 slots ready"
`

// stubs are the commands the container cannot run for real (no network,
// no systemd): they log their arguments; systemctl opens the supervisor's
// socket when the supervisor is started, as the real one would.
var stubs = map[string]string{
	"apt-get": "#!/bin/bash\necho \"$*\" >>/stubs/log/apt-get\n",
	"docker":  "#!/bin/bash\necho \"$*\" >>/stubs/log/docker\n",
	"systemctl": `#!/bin/bash
echo "$*" >>/stubs/log/systemctl
if [[ " $* " == *" checkfleet-supervisor.service "* ]]; then
	mkdir -p /run/checkfleet
	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "/run/checkfleet/supervisor.sock", Listen => 1) or die "socket: $!"'
fi
`,
}

// fakeIMDS serves the instance document over IMDSv2 (a token first).
func fakeIMDS(t *testing.T) *httptest.Server {
	const token = "imds-token"
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "no ttl", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, token)
	})
	doc := map[string]string{"instance-id": "i-0123456789abcdef0", "placement/availability-zone": "eu-west-1b"}
	mux.HandleFunc("GET /latest/meta-data/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-aws-ec2-metadata-token") != token {
			http.Error(w, "IMDSv2: token required", http.StatusUnauthorized)
			return
		}
		v, ok := doc[r.PathValue("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, v)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// bootstrap is one run of the worker user data in a container.
type bootstrap struct {
	rc             string
	stdout, stderr string
	dir            string // the container's /stubs: log/, out/
}

func (b bootstrap) file(t *testing.T, rel string) string {
	t.Helper()
	s, err := os.ReadFile(filepath.Join(b.dir, rel))
	if err != nil {
		return ""
	}
	return string(s)
}

// runBootstrap runs the rendered worker user data as root in a Debian
// container on the host's network (the fake IMDS and release server are on
// loopback) and collects what it wrote.
func runBootstrap(t *testing.T, image, script string, statusFails bool) bootstrap {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"bin", "log", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range stubs {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if statusFails {
		if err := os.WriteFile(filepath.Join(dir, "status-fail"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "user-data.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	imds := fakeIMDS(t)
	collect := `bash /stubs/user-data.sh >/stubs/out/stdout 2>/stubs/out/stderr; echo $? >/stubs/out/rc
cp -a /etc/checkfleet/supervisor.env /etc/systemd/system/checkfleet-supervisor.service /usr/local/bin/supervisor /stubs/out/ 2>/dev/null
stat -c '%n %a %U' /etc/checkfleet/supervisor.env /usr/local/bin/supervisor >/stubs/out/modes 2>/dev/null
id checkfleet >/stubs/out/user 2>/dev/null
chmod -R a+rwX /stubs
true`
	cmd := exec.Command("docker", "run", "--rm", "--network", "host",
		"-v", dir+":/stubs",
		"-e", "PATH=/stubs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"-e", "CHECKFLEET_IMDS_ENDPOINT="+imds.URL,
		image, "bash", "-c", collect)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	b := bootstrap{dir: dir}
	b.rc = strings.TrimSpace(b.file(t, "out/rc"))
	b.stdout, b.stderr = b.file(t, "out/stdout"), b.file(t, "out/stderr")
	return b
}

// TestUserDataBootstrapsAHost runs the worker user data in a Debian
// container against a fake instance metadata service and a release
// server: it installs the supervisor it verified, writes its settings and
// the unit, starts Docker and the supervisor, and prints the verdict the
// readiness gate reads; it refuses a missing value and a release whose
// checksum differs, changing nothing, and reports a host that never gets
// ready.
func TestUserDataBootstrapsAHost(t *testing.T) {
	testenv.Long(t, "runs the user data in Debian containers (and builds their image the first time)")
	image := userDataImage(t)

	release := []byte(fakeSupervisor)
	sum := sha256.Sum256(release)
	sha := hex.EncodeToString(sum[:])
	releases := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.4.2/supervisor" {
			http.NotFound(w, r)
			return
		}
		w.Write(release)
	}))
	t.Cleanup(releases.Close)
	url := releases.URL + "/v1.4.2/supervisor"

	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		b := runBootstrap(t, image, renderWorker(t, workerValues(url, sha)), false)
		if b.rc != "0" {
			t.Fatalf("exit %s, want 0\nstdout:\n%s\nstderr:\n%s", b.rc, b.stdout, b.stderr)
		}
		wantLine(t, b.stdout, "checkfleet-bootstrap: ready host=w-03 instance=i-0123456789abcdef0 slots=5 image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkfleet-worker:v1.4.2")
		if got := b.file(t, "out/supervisor"); got != fakeSupervisor {
			t.Errorf("/usr/local/bin/supervisor is not the release:\n%s", got)
		}
		if got, want := b.file(t, "out/checkfleet-supervisor.service"), string(readFile(t, supervisorUnit)); got != want+"\n" && got != want {
			t.Errorf("the unit differs from deploy/systemd/checkfleet-supervisor.service:\n%s", got)
		}
		env := b.file(t, "out/supervisor.env")
		for _, line := range []string{
			"CHECKFLEET_NAME=w-03-i-0123456789abcdef0",
			"CHECKFLEET_LEAVE_ON_STOP=true",
			"CHECKFLEET_RUNTIME=docker",
			"CHECKFLEET_IMAGE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkfleet-worker",
			"CHECKFLEET_TAG=v1.4.2",
			"CHECKFLEET_SLOTS=5",
			"CHECKFLEET_CREDENTIAL_HELPER=ecr-login",
			"AWS_ECR_CACHE_DIR=/var/lib/checkfleet/ecr-login",
			"CHECKFLEET_JOBS_QUEUE=https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-jobs-eu-west-1,https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-jobs-dublin",
			"CHECKFLEET_RESULTS_QUEUE=https://sqs.eu-west-1.amazonaws.com/123456789012/checkfleet-results-eu-west-1",
			"CHECKFLEET_WORKER_ENV=AWS_REGION=eu-west-1",
			"CHECKFLEET_CONTROL_URL=http://203.0.113.10:8080",
			"CHECKFLEET_HOST_TOKEN=host-token-of-w-03",
			"CHECKFLEET_JOIN_TOKEN=the-join-token",
			"CHECKFLEET_RING=production",
			"CHECKFLEET_LABEL=instance=i-0123456789abcdef0,zone=eu-west-1b",
		} {
			wantLine(t, env, line)
		}
		if strings.Contains(env, "CHECKFLEET_PULL=") {
			t.Errorf("the supervisor's pull policy is set (its default, if-not-present, pulls a missing tag with the helper's credentials):\n%s", env)
		}
		modes := b.file(t, "out/modes")
		wantLine(t, modes, "/etc/checkfleet/supervisor.env 600 root")
		wantLine(t, modes, "/usr/local/bin/supervisor 755 root")
		if u := b.file(t, "out/user"); !strings.HasPrefix(u, "uid=") || !strings.Contains(u, "(checkfleet)") {
			t.Errorf("no checkfleet user: %q", b.file(t, "out/user"))
		}
		wantLine(t, b.file(t, "log/apt-get"), "install -y -qq --no-install-recommends docker.io amazon-ecr-credential-helper")
		systemctl := b.file(t, "log/systemctl")
		wantLine(t, systemctl, "enable --now docker.service")
		wantLine(t, systemctl, "enable --now checkfleet-supervisor.service")
		if strings.Index(systemctl, "daemon-reload") > strings.Index(systemctl, "checkfleet-supervisor.service") {
			t.Errorf("the supervisor was started before systemd read its unit:\n%s", systemctl)
		}
		wantLine(t, b.file(t, "log/docker"), "pull -q 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkfleet-worker:v1.4.2")
		wantLine(t, b.file(t, "log/supervisor"), "status --socket /run/checkfleet/supervisor.sock --wait-ready --timeout 10m")
	})

	t.Run("missing values", func(t *testing.T) {
		t.Parallel()
		v := workerValues(url, sha)
		v["CF_HOST_TOKEN"], v["CF_RESULTS_QUEUE"] = "", ""
		b := runBootstrap(t, image, renderWorker(t, v), false)
		if b.rc != "1" {
			t.Fatalf("exit %s, want 1\nstdout:\n%s\nstderr:\n%s", b.rc, b.stdout, b.stderr)
		}
		wantContains(t, b.stderr, "missing configuration: CF_RESULTS_QUEUE CF_HOST_TOKEN")
		wantContains(t, b.stdout, "checkfleet-bootstrap: failed host=w-03 instance=unknown reason=missing configuration")
		for _, f := range []string{"out/supervisor.env", "out/supervisor", "log/apt-get", "log/systemctl"} {
			if b.file(t, f) != "" {
				t.Errorf("%s: want nothing done before the configuration is complete, got %q", f, b.file(t, f))
			}
		}
	})

	t.Run("checksum mismatch", func(t *testing.T) {
		t.Parallel()
		wrong := strings.Repeat("1", 64)
		b := runBootstrap(t, image, renderWorker(t, workerValues(url, wrong)), false)
		if b.rc != "1" {
			t.Fatalf("exit %s, want 1\nstdout:\n%s\nstderr:\n%s", b.rc, b.stdout, b.stderr)
		}
		wantContains(t, b.stderr, fmt.Sprintf("supervisor release %s: sha256 %s, want %s (not installed)", url, sha, wrong))
		wantContains(t, b.stdout, "checkfleet-bootstrap: failed host=w-03 instance=i-0123456789abcdef0 reason=supervisor release")
		if b.file(t, "out/supervisor") != "" || b.file(t, "out/supervisor.env") != "" {
			t.Error("a release whose checksum differs was installed, or the settings written")
		}
	})

	t.Run("never ready", func(t *testing.T) {
		t.Parallel()
		b := runBootstrap(t, image, renderWorker(t, workerValues(url, sha)), true)
		if b.rc != "1" {
			t.Fatalf("exit %s, want 1\nstdout:\n%s\nstderr:\n%s", b.rc, b.stdout, b.stderr)
		}
		wantContains(t, b.stdout, "checkfleet-bootstrap: failed host=w-03 instance=i-0123456789abcdef0 reason=not ready within 10m: supervisor: not ready after 10m0s: 3 of 5 slots ready; slot 4: not ready")
	})
}

func wantLine(t *testing.T, text, line string) {
	t.Helper()
	if !slices.Contains(strings.Split(text, "\n"), line) {
		t.Errorf("want the line %q in:\n%s", line, text)
	}
}

func wantContains(t *testing.T, text, sub string) {
	t.Helper()
	if !strings.Contains(text, sub) {
		t.Errorf("want %q in:\n%s", sub, text)
	}
}
