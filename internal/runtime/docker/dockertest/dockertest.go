// Package dockertest connects tests to the real Docker Engine and builds
// worker images for them from our own static binaries (the test machines
// have no registry): FROM scratch, the binary as /worker, the host's CA
// certificates, user 65532. Everything it builds carries a label and is
// removed when the test ends, leaving the engine as it was.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/docker"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// LabelTest marks the images this package builds, with the test run's id.
const LabelTest = "io.checkfleet.test"

// Dockerfile is the image the tests build around a worker binary in
// seconds: the worker alone, no Chromium. The production image
// (docker/worker.Dockerfile: /usr/local/bin/worker under tini, with
// Chromium and fonts) runs the same way, and docker/images_test.go tests it.
const Dockerfile = `FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY worker /worker
USER 65532:65532
ENTRYPOINT ["/worker"]
CMD ["run"]
`

// Connect returns a runtime on the engine of the environment, or skips
// (fails when CI=true) saying what to do when none answers.
func Connect(t testing.TB) *docker.Runtime {
	t.Helper()
	rt, err := docker.New(context.Background(), docker.Options{})
	if err != nil {
		testenv.SkipOrFail(t, "Docker Engine: %v; install and start it "+
			"(apt-get install docker.io && systemctl start docker), or point DOCKER_HOST at one", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// Harness is the Docker runtime for the runtimetest suites. Images go to a
// repository named after a registry on 127.0.0.1:1, so a pull of a tag
// that was not built fails on loopback instead of reaching Docker Hub.
func Harness(t testing.TB) runtimetest.Harness {
	rt := Connect(t)
	run := fmt.Sprintf("%08x", rand.Uint32())
	repo := "127.0.0.1:1/checkfleet-worker-test-" + run
	var built []string
	t.Cleanup(func() {
		ctx := context.Background()
		for _, ref := range built {
			if _, err := rt.Client().ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
				t.Errorf("remove test image %s: %v", ref, err)
			}
		}
		removeLabelled(t, rt.Client(), run)
	})
	return runtimetest.Harness{
		Name: "docker",
		Repo: repo,
		Publish: func(t testing.TB, binary, tag string) {
			t.Helper()
			ref := repo + ":" + tag
			if err := BuildImage(context.Background(), rt.Client(), binary, ref, map[string]string{LabelTest: run}); err != nil {
				t.Fatalf("build image %s: %v", ref, err)
			}
			built = append(built, ref)
		},
		Runtime: func(t testing.TB, _ string, _ bool) runtime.Runtime {
			return Connect(t)
		},
		RunFlags: []string{"--runtime", "docker"},
	}
}

// BuildImage builds the test image (Dockerfile) around binary and tags it ref.
func BuildImage(ctx context.Context, cli *client.Client, binary, ref string, labels map[string]string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return fmt.Errorf("CA certificates for the image (apt-get install ca-certificates): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(Dockerfile)}, {"ca-certificates.crt", 0o644, certs}, {"worker", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	// No build cache: parallel test binaries would share cached
	// intermediate images, and one's cleanup would pull them from under
	// the other's build.
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true, NoCache: true, Labels: labels, Dockerfile: "Dockerfile",
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil)
}

// removeLabelled removes containers carrying the test run's label.
func removeLabelled(t testing.TB, cli *client.Client, run string) {
	ctx := context.Background()
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelTest+"="+run))})
	if err != nil {
		t.Errorf("list test containers: %v", err)
		return
	}
	for _, c := range cs {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove test container %s: %v", c.ID, err)
		}
	}
}
