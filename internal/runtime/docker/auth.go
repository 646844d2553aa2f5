package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/distribution/reference"
	credclient "github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/docker/docker/api/types/registry"
)

// DefaultCredentialHelperTimeout bounds one call of a credential helper
// when Options.CredentialHelperTimeout is 0. ECR's helper may call the
// instance metadata service and the ECR API, with retries.
const DefaultCredentialHelperTimeout = time.Minute

// ErrRegistryCredentials is wrapped by every error of getting a registry's
// credentials from its helper (missing helper, failing helper, no
// credentials): the pull was not attempted.
var ErrRegistryCredentials = errors.New("cannot get the credentials")

// dockerHubServer is the server address Docker's clients ask credential
// helpers for, and send in X-Registry-Auth, for Docker Hub (docker.io):
// the docker CLI's registry.IndexServer.
const dockerHubServer = "https://index.docker.io/v1/"

// tokenUsername is the user name a credential helper returns with an
// identity (refresh) token rather than a password, as the docker CLI
// reads it.
const tokenUsername = "<token>"

// validHelper is what a helper name may be: docker-credential-NAME is
// looked up in PATH, so the name is not a path.
var validHelper = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// validateHelpers reports helper names that cannot name a
// docker-credential-NAME program and registries that are not host names.
func (o Options) validateHelpers() error {
	var errs []error
	if o.CredentialHelper != "" && !validHelper.MatchString(o.CredentialHelper) {
		errs = append(errs, fmt.Errorf("--credential-helper %q: want the NAME of a docker-credential-NAME program in PATH (letters, digits, '_', '.', '-')", o.CredentialHelper))
	}
	for reg, name := range o.CredentialHelpers {
		if reg == "" || strings.ContainsAny(reg, "/ ") {
			errs = append(errs, fmt.Errorf("credential helper of registry %q: want a registry host[:port]", reg))
		}
		if !validHelper.MatchString(name) {
			errs = append(errs, fmt.Errorf("credential helper %q of registry %s: want the NAME of a docker-credential-NAME program in PATH", name, reg))
		}
	}
	if o.CredentialHelperTimeout < 0 {
		errs = append(errs, fmt.Errorf("credential helper timeout %s: must not be negative", o.CredentialHelperTimeout))
	}
	return errors.Join(errs...)
}

// findHelpers checks that every helper named is a program in PATH, so a
// missing one is said when the supervisor starts, not at its first pull.
func (o Options) findHelpers() error {
	var errs []error
	names := map[string]bool{}
	if o.CredentialHelper != "" {
		names[o.CredentialHelper] = true
	}
	for _, name := range o.CredentialHelpers {
		names[name] = true
	}
	for name := range names {
		if _, err := exec.LookPath(helperProgram(name)); err != nil {
			errs = append(errs, fmt.Errorf("credential helper %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func helperProgram(name string) string { return "docker-credential-" + name }

// helperOf returns the credential helper of registry host (a
// CredentialHelpers entry, else CredentialHelper), "" for none.
func (o Options) helperOf(host string) string {
	if name, ok := o.CredentialHelpers[host]; ok {
		return name
	}
	return o.CredentialHelper
}

// registryAuth returns the X-Registry-Auth value for pulling ref: "" when
// no credential helper serves its registry (an anonymous pull), else the
// credentials the helper gives now (ECR's tokens expire, so they are asked
// for at every pull, never kept).
func (r *Runtime) registryAuth(ctx context.Context, ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	host := reference.Domain(named)
	server := host
	key := host // credHelpers keys are host names, Docker Hub's too
	if host == "docker.io" {
		server, key = dockerHubServer, "index.docker.io"
	}
	name := r.opts.helperOf(key)
	if name == "" {
		return "", nil
	}
	ac, err := helperCredentials(ctx, name, server, r.opts.CredentialHelperTimeout)
	if err != nil {
		return "", fmt.Errorf("%w of registry %s from credential helper %s: %w", ErrRegistryCredentials, server, helperProgram(name), err)
	}
	auth, err := registry.EncodeAuthConfig(ac)
	if err != nil {
		return "", fmt.Errorf("encode the credentials of registry %s: %w", server, err)
	}
	return auth, nil
}

// helperCredentials runs `docker-credential-NAME get` for server, bounded
// by timeout, and returns its credentials as the engine takes them. Its
// errors never carry the secret: on success the helper's output is not
// quoted, on failure there is none.
func helperCredentials(ctx context.Context, name, server string, timeout time.Duration) (registry.AuthConfig, error) {
	if timeout <= 0 {
		timeout = DefaultCredentialHelperTimeout
	}
	// Looked up here: the helpers' client would flatten exec's error.
	if _, err := exec.LookPath(helperProgram(name)); err != nil {
		return registry.AuthConfig{}, errors.New("not installed (not found in PATH)")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stderr boundedBuffer
	var syntax *json.SyntaxError
	program := func(args ...string) credclient.Program {
		cmd := exec.CommandContext(ctx, helperProgram(name), args...)
		cmd.Stderr = &stderr
		cmd.WaitDelay = time.Second // a helper's children keeping stdout open
		return helperCmd{cmd}
	}
	creds, err := credclient.Get(program, server)
	switch {
	case credentials.IsErrCredentialsNotFound(err):
		return registry.AuthConfig{}, errors.New("credentials not found (is the host allowed to pull from this registry?)")
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return registry.AuthConfig{}, fmt.Errorf("no answer within %s", timeout)
	case errors.As(err, &syntax):
		return registry.AuthConfig{}, fmt.Errorf("its answer is not JSON credentials: %w", err)
	case err != nil:
		// Get quotes what the helper printed on its standard output (its
		// error message); its standard error says more.
		if s := strings.TrimSpace(stderr.String()); s != "" {
			return registry.AuthConfig{}, fmt.Errorf("%w; stderr: %s", err, s)
		}
		return registry.AuthConfig{}, err
	case creds.Secret == "":
		return registry.AuthConfig{}, errors.New("its answer has an empty secret")
	}
	ac := registry.AuthConfig{ServerAddress: server}
	if creds.Username == tokenUsername {
		ac.IdentityToken = creds.Secret
	} else {
		ac.Username, ac.Password = creds.Username, creds.Secret
	}
	return ac, nil
}

// helperCmd is a credential helper's process as the helpers' client runs it.
type helperCmd struct{ cmd *exec.Cmd }

func (h helperCmd) Output() ([]byte, error) { return h.cmd.Output() }
func (h helperCmd) Input(in io.Reader)      { h.cmd.Stdin = in }

// boundedBuffer keeps the first 1 KiB written to it.
type boundedBuffer struct{ bytes.Buffer }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := 1024 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// DockerConfigHelpers reads the credential helpers of a docker CLI
// config.json: its credsStore (every registry's helper) and credHelpers
// (per registry host). Its auths (stored passwords) are not read.
func DockerConfigHelpers(path string) (store string, perRegistry map[string]string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("docker config: %w", err)
	}
	var cfg struct {
		CredsStore  string            `json:"credsStore"`
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", nil, fmt.Errorf("docker config %s: %w", path, err)
	}
	return cfg.CredsStore, cfg.CredHelpers, nil
}
