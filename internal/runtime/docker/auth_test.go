package docker_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/registry"

	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/docker"
)

const (
	ecrRepo     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkfleet-worker"
	ecrRegistry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	secret      = "s3cr3t-ecr-token-do-not-print"
)

// fakeEngine speaks enough of the Engine API for Resolve with a pull: the
// ping (API 1.41, as the engine here), /images/create and the image
// inspect. It records every pull.
type fakeEngine struct {
	mu    sync.Mutex
	pulls []pullRequest
}

type pullRequest struct {
	image string // fromImage:tag
	auth  string // X-Registry-Auth
}

func (e *fakeEngine) pullsSoFar() []pullRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]pullRequest(nil), e.pulls...)
}

// startFakeEngine serves a fakeEngine on loopback and points the docker
// client's environment at it.
func startFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	e := &fakeEngine{}
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "OK")
	})
	mux.HandleFunc("POST /v1.41/images/create", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		e.mu.Lock()
		e.pulls = append(e.pulls, pullRequest{image: q.Get("fromImage") + ":" + q.Get("tag"), auth: r.Header.Get("X-Registry-Auth")})
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"Pulling from checkfleet-worker","id":"v2"}`)
		fmt.Fprintln(w, `{"status":"Status: Downloaded newer image"}`)
	})
	mux.HandleFunc("GET /v1.41/images/{name...}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Id":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fake engine: unexpected %s %s", r.Method, r.URL)
		http.Error(w, `{"message":"not in the fake"}`, http.StatusNotImplemented)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv("DOCKER_HOST", "tcp://"+srv.Listener.Addr().String())
	t.Setenv("DOCKER_API_VERSION", "")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	return e
}

// installHelper writes docker-credential-NAME into a directory put first
// in PATH: it appends the server URL it is asked for (its stdin) to
// dir/asked and runs body. It returns dir.
func installHelper(t *testing.T, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || { echo \"unexpected action $1\"; exit 1; }\nIFS= read -r server || true\nprintf '%%s\\n' \"$server\" >>%q\n%s\n", filepath.Join(dir, "asked"), body)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func asked(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "asked"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func decodeAuth(t *testing.T, header string) registry.AuthConfig {
	t.Helper()
	if header == "" {
		t.Fatal("the pull carries no X-Registry-Auth")
	}
	ac, err := registry.DecodeAuthConfig(header)
	if err != nil {
		t.Fatalf("X-Registry-Auth %q: %v", header, err)
	}
	return *ac
}

func newRuntime(t *testing.T, opts docker.Options) *docker.Runtime {
	t.Helper()
	rt, err := docker.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

const helperAnswers = `printf '{"ServerURL":"%s","Username":"AWS","Secret":"` + secret + `"}\n' "$server"`

func TestPullSendsTheHelpersCredentials(t *testing.T) {
	engine := startFakeEngine(t)
	dir := installHelper(t, "fake-ecr", helperAnswers)
	rt := newRuntime(t, docker.Options{CredentialHelper: "fake-ecr"})

	img, err := rt.Resolve(t.Context(), ecrRepo, "v2", runtime.PullAlways)
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != ecrRepo+":v2" || !strings.HasPrefix(string(img.ID), "sha256:") {
		t.Errorf("resolved %+v", img)
	}
	pulls := engine.pullsSoFar()
	if len(pulls) != 1 || pulls[0].image != ecrRepo+":v2" {
		t.Fatalf("pulls %+v, want one of %s:v2", pulls, ecrRepo)
	}
	want := registry.AuthConfig{Username: "AWS", Password: secret, ServerAddress: ecrRegistry}
	if got := decodeAuth(t, pulls[0].auth); got != want {
		t.Errorf("X-Registry-Auth decodes to %+v, want %+v", got, want)
	}
	if got := asked(t, dir); len(got) != 1 || got[0] != ecrRegistry {
		t.Errorf("the helper was asked for %q, want [%s]", got, ecrRegistry)
	}

	// ECR tokens expire: every pull asks the helper again.
	if _, err := rt.Resolve(t.Context(), ecrRepo, "v3", runtime.PullAlways); err != nil {
		t.Fatal(err)
	}
	if got := asked(t, dir); len(got) != 2 {
		t.Errorf("the helper was asked %d times for two pulls, want 2", len(got))
	}
}

func TestPullFromDockerHubAsksForTheIndexServer(t *testing.T) {
	engine := startFakeEngine(t)
	dir := installHelper(t, "fake", `printf '{"Username":"<token>","Secret":"`+secret+`"}\n'`)
	rt := newRuntime(t, docker.Options{CredentialHelper: "fake"})

	if _, err := rt.Resolve(t.Context(), "checkfleet/worker", "v2", runtime.PullAlways); err != nil {
		t.Fatal(err)
	}
	const hub = "https://index.docker.io/v1/"
	if got := asked(t, dir); len(got) != 1 || got[0] != hub {
		t.Errorf("the helper was asked for %q, want [%s]", got, hub)
	}
	pulls := engine.pullsSoFar()
	if len(pulls) != 1 {
		t.Fatalf("pulls %+v, want one", pulls)
	}
	// A "<token>" user name means an identity token, as the docker CLI reads it.
	want := registry.AuthConfig{IdentityToken: secret, ServerAddress: hub}
	if got := decodeAuth(t, pulls[0].auth); got != want {
		t.Errorf("X-Registry-Auth decodes to %+v, want %+v", got, want)
	}
}

func TestPullWithoutHelperIsAnonymous(t *testing.T) {
	engine := startFakeEngine(t)
	dir := installHelper(t, "fake-ecr", helperAnswers)
	// The helper serves one registry only; the image is on another.
	rt := newRuntime(t, docker.Options{CredentialHelpers: map[string]string{"registry.example:5000": "fake-ecr"}})

	if _, err := rt.Resolve(t.Context(), ecrRepo, "v2", runtime.PullAlways); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Resolve(t.Context(), "registry.example:5000/checkfleet-worker", "v2", runtime.PullAlways); err != nil {
		t.Fatal(err)
	}
	pulls := engine.pullsSoFar()
	if len(pulls) != 2 {
		t.Fatalf("pulls %+v, want two", pulls)
	}
	if pulls[0].auth != "" {
		t.Errorf("a pull from %s, which has no helper, carries X-Registry-Auth %q", ecrRegistry, pulls[0].auth)
	}
	want := registry.AuthConfig{Username: "AWS", Password: secret, ServerAddress: "registry.example:5000"}
	if got := decodeAuth(t, pulls[1].auth); got != want {
		t.Errorf("X-Registry-Auth decodes to %+v, want %+v", got, want)
	}
	if got := asked(t, dir); len(got) != 1 || got[0] != "registry.example:5000" {
		t.Errorf("the helper was asked for %q, want [registry.example:5000]", got)
	}
}

// TestPullFailsWhenTheHelperDoes: a helper that is missing, fails, says it
// has no credentials or hangs fails the pull before the engine is asked,
// with an error naming the helper and the registry and never the secret.
func TestPullFailsWhenTheHelperDoes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		remove     bool
		want       string
	}{
		{name: "missing", body: helperAnswers, remove: true, want: "not installed (not found in PATH)"},
		{name: "exits non-zero", body: `echo "NoCredentialProviders: no valid providers in chain" >&2; echo "ecr: failed to get token"; exit 1`,
			want: "ecr: failed to get token"},
		{name: "credentials not found", body: `echo "credentials not found in native keychain"; exit 1`, want: "credentials not found"},
		{name: "malformed answer", body: `echo "Secret: ` + secret + `"`, want: "its answer is not JSON credentials"},
		{name: "empty secret", body: `echo '{"Username":"AWS","Secret":""}'`, want: "empty secret"},
		{name: "hangs", body: `exec sleep 30`, want: "no answer within 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := startFakeEngine(t)
			dir := installHelper(t, "fake-ecr", tc.body)
			rt := newRuntime(t, docker.Options{CredentialHelper: "fake-ecr", CredentialHelperTimeout: 200 * time.Millisecond})
			if tc.remove {
				if err := os.Remove(filepath.Join(dir, "docker-credential-fake-ecr")); err != nil {
					t.Fatal(err)
				}
			}
			_, err := rt.Resolve(t.Context(), ecrRepo, "v2", runtime.PullAlways)
			if err == nil {
				t.Fatal("resolve succeeded")
			}
			msg := err.Error()
			for _, want := range []string{tc.want, "registry " + ecrRegistry, "credential helper docker-credential-fake-ecr", ecrRepo + ":v2"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error %q carries the secret", msg)
			}
			if !errors.Is(err, docker.ErrRegistryCredentials) || !errors.Is(err, runtime.ErrImageNotFound) {
				t.Errorf("error %q: want ErrRegistryCredentials and runtime.ErrImageNotFound", msg)
			}
			if pulls := engine.pullsSoFar(); len(pulls) != 0 {
				t.Errorf("the engine was asked to pull without credentials: %+v", pulls)
			}
		})
	}
}

func TestNewRefusesAMissingHelper(t *testing.T) {
	startFakeEngine(t)
	t.Setenv("PATH", t.TempDir())
	_, err := docker.New(t.Context(), docker.Options{CredentialHelpers: map[string]string{ecrRegistry: "ecr-login"}})
	if err == nil || !strings.Contains(err.Error(), "credential helper ecr-login") || !strings.Contains(err.Error(), "docker-credential-ecr-login") {
		t.Fatalf("New with a helper not in PATH: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts docker.Options
		want string // "" for valid
	}{
		{opts: docker.Options{}},
		{opts: docker.Options{CredentialHelper: "ecr-login", CredentialHelpers: map[string]string{"gcr.io": "gcloud", "localhost:5000": "pass"}}},
		{opts: docker.Options{CredentialHelper: "../../bin/sh"}, want: `--credential-helper "../../bin/sh"`},
		{opts: docker.Options{CredentialHelper: "docker credential"}, want: `--credential-helper "docker credential"`},
		{opts: docker.Options{CredentialHelpers: map[string]string{"gcr.io/project": "gcloud"}}, want: `registry "gcr.io/project"`},
		{opts: docker.Options{CredentialHelpers: map[string]string{"gcr.io": ""}}, want: `credential helper "" of registry gcr.io`},
		{opts: docker.Options{CredentialHelperTimeout: -time.Second}, want: "must not be negative"},
	} {
		err := tc.opts.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.opts, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestDockerConfigHelpers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	cfg := map[string]any{
		"auths":       map[string]any{"gcr.io": map[string]string{"auth": "c2VjcmV0"}},
		"credsStore":  "pass",
		"credHelpers": map[string]string{ecrRegistry: "ecr-login"},
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	store, helpers, err := docker.DockerConfigHelpers(path)
	if err != nil {
		t.Fatal(err)
	}
	if store != "pass" || len(helpers) != 1 || helpers[ecrRegistry] != "ecr-login" {
		t.Errorf("credsStore %q, credHelpers %v", store, helpers)
	}
	if _, _, err := docker.DockerConfigHelpers(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("a missing config file: no error")
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := docker.DockerConfigHelpers(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a malformed config file: %v", err)
	}
}
