package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// RunContract checks that h's runtime keeps the runtime.Runtime contract.
func RunContract(t *testing.T, h Harness) {
	rt := h.Runtime(t, t.TempDir(), false)
	ok := BuildFake(t, FakeOK, "")
	h.Publish(t, ok, "contract-ok")
	h.Publish(t, BuildFake(t, FakeExit, ""), "contract-exit")
	ip := LoopbackIP(t)
	c := &contract{t: t, rt: rt, ip: ip, run: strconv.Itoa(rand.IntN(1 << 30))}
	t.Cleanup(c.removeAll)

	t.Run("ResolvePolicies", func(t *testing.T) {
		ctx := context.Background()
		var ids []runtime.ImageID
		// Published is present at its source; if-not-present brings it
		// into the local store (where it already is for Docker), never
		// then finds it there.
		for _, p := range []runtime.PullPolicy{runtime.PullIfNotPresent, runtime.PullNever} {
			img, err := rt.Resolve(ctx, h.Repo, "contract-ok", p)
			if err != nil {
				t.Fatalf("resolve a local tag with pull %s: %v", p, err)
			}
			if img.ID == "" || img.Ref == "" {
				t.Fatalf("resolve with pull %s: %+v, want an id and a ref", p, img)
			}
			ids = append(ids, img.ID)
		}
		if ids[0] != ids[1] {
			t.Fatalf("the same tag resolved to %s and %s", ids[0], ids[1])
		}
		other, err := rt.Resolve(ctx, h.Repo, "contract-exit", runtime.PullIfNotPresent)
		if err != nil || other.ID == ids[0] {
			t.Fatalf("another build: %+v, %v; want another id than %s", other, err, ids[0])
		}
		for _, p := range []runtime.PullPolicy{runtime.PullNever, runtime.PullIfNotPresent, runtime.PullAlways} {
			began := time.Now()
			_, err := rt.Resolve(ctx, h.Repo, "no-such-tag", p)
			if !errors.Is(err, runtime.ErrImageNotFound) {
				t.Fatalf("resolve a missing tag with pull %s: %v, want ErrImageNotFound", p, err)
			}
			if took := time.Since(began); took > 30*time.Second {
				t.Fatalf("a missing tag took %s to fail", took)
			}
			t.Logf("pull %s, missing tag: %v", p, err)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		ctx := context.Background()
		img := c.resolve(t, h.Repo, "contract-ok")
		id, addr := c.create(t, img, nil)
		in, err := rt.Inspect(ctx, id)
		if err != nil || in.State != runtime.Created || in.Labels["io.checkfleet.test"] != c.run || in.Image != img.ID {
			t.Fatalf("created: %+v, %v; want state created, our labels and image", in, err)
		}
		if err := rt.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		c.waitHTTP(t, addr, "/healthz")
		in, err = rt.Inspect(ctx, id)
		if err != nil || in.State != runtime.Running || in.StartedAt.IsZero() || in.PID == 0 {
			t.Fatalf("started: %+v, %v; want running with a start time and a pid", in, err)
		}
		list, err := rt.List(ctx, map[string]string{"io.checkfleet.test": c.run, "io.checkfleet.contract": "lifecycle"})
		if err != nil || len(list) != 1 || list[0].ID != id {
			t.Fatalf("list by labels: %+v, %v; want just %s", list, err, id)
		}
		if list, err := rt.List(ctx, map[string]string{"io.checkfleet.test": "someone-else"}); err != nil || len(list) != 0 {
			t.Fatalf("list by other labels: %+v, %v; want nothing", list, err)
		}
		if err := rt.Signal(ctx, id, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		in, err = rt.Wait(waitCtx, id)
		if err != nil || in.State != runtime.Exited || in.ExitCode != 0 || in.FinishedAt.IsZero() {
			t.Fatalf("after SIGTERM: %+v, %v; want exited 0", in, err)
		}
		if err := rt.Signal(ctx, id, syscall.SIGTERM); err != nil {
			t.Fatalf("signal to a stopped instance: %v, want success", err)
		}
		for range 2 {
			if err := rt.Remove(ctx, id); err != nil {
				t.Fatalf("remove (twice is success): %v", err)
			}
		}
		if _, err := rt.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("inspect after remove: %v, want ErrNotFound", err)
		}
		if err := rt.Signal(ctx, id, syscall.SIGKILL); err != nil {
			t.Fatalf("signal to a missing instance: %v, want success", err)
		}
		if in, err := rt.Wait(ctx, id); err != nil || in.State != runtime.Gone {
			t.Fatalf("wait for a missing instance: %+v, %v; want gone", in, err)
		}
	})

	t.Run("ExitCode", func(t *testing.T) {
		ctx := context.Background()
		id, _ := c.create(t, c.resolve(t, h.Repo, "contract-exit"), nil)
		if err := rt.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		in, err := rt.Wait(waitCtx, id)
		if err != nil || in.State != runtime.Exited || in.ExitCode != 3 {
			t.Fatalf("an instance exiting 3: %+v, %v", in, err)
		}
		if !in.FinishedAt.After(in.StartedAt) && !in.FinishedAt.Equal(in.StartedAt) {
			t.Fatalf("finished %s before it started %s", in.FinishedAt, in.StartedAt)
		}
		out, err := rt.Logs(ctx, id, 2)
		if err != nil || !strings.Contains(out, "exiting at once, as built") || strings.Contains(out, "\n\n") {
			t.Fatalf("last two lines of output: %q, %v; want the fake's last words", out, err)
		}
	})

	t.Run("SIGKILLEndsWhatIgnoresSIGTERM", func(t *testing.T) {
		ctx := context.Background()
		id, addr := c.create(t, c.resolve(t, h.Repo, "contract-ok"), []string{"FAKE_IGNORE_TERM=1"})
		if err := rt.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		c.waitHTTP(t, addr, "/readyz")
		if err := rt.Signal(ctx, id, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// Still serving, and still ready, after the SIGTERM it ignores.
		c.waitHTTP(t, addr, "/readyz")
		if in, err := rt.Inspect(ctx, id); err != nil || in.State != runtime.Running {
			t.Fatalf("after an ignored SIGTERM: %+v, %v; want running", in, err)
		}
		if err := rt.Signal(ctx, id, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		in, err := rt.Wait(waitCtx, id)
		if err != nil || in.State != runtime.Exited || in.ExitCode != 137 {
			t.Fatalf("after SIGKILL: %+v, %v; want exited 137", in, err)
		}
	})

	t.Run("RemoveKillsARunningInstance", func(t *testing.T) {
		ctx := context.Background()
		id, addr := c.create(t, c.resolve(t, h.Repo, "contract-ok"), []string{"FAKE_IGNORE_TERM=1"})
		if err := rt.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		c.waitHTTP(t, addr, "/healthz")
		if err := rt.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("inspect after remove: %v, want ErrNotFound", err)
		}
		testenv.EventuallyNil(t, 10*time.Second, "health port "+addr+" to be free after remove", func() error {
			ln, err := net.Listen("tcp", addr)
			if err == nil {
				ln.Close()
			}
			return err
		})
	})
}

type contract struct {
	t   *testing.T // the suite's, for the cleanup
	rt  runtime.Runtime
	ip  string
	run string
}

func (c *contract) resolve(t *testing.T, repo, tag string) runtime.Image {
	t.Helper()
	img, err := c.rt.Resolve(context.Background(), repo, tag, runtime.PullIfNotPresent)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// create makes an instance of img serving its health on a free port.
func (c *contract) create(t *testing.T, img runtime.Image, env []string) (runtime.InstanceID, string) {
	t.Helper()
	addr := net.JoinHostPort(c.ip, strconv.Itoa(FreePorts(t, c.ip, 1)))
	id, err := c.rt.Create(context.Background(), runtime.Spec{
		Name: "checkfleet-contract", Image: img, Args: []string{"run"},
		Env:         append([]string{"CHECKFLEET_HEALTH_LISTEN=" + addr, "CHECKFLEET_ID=contract-slot0-x"}, env...),
		Labels:      map[string]string{"io.checkfleet.test": c.run, "io.checkfleet.contract": "lifecycle"},
		Limits:      runtime.Limits{MemoryBytes: 64 << 20, PIDs: 64},
		StopTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.rt.Remove(context.Background(), id) })
	return id, addr
}

// waitHTTP waits until http://addr/path answers 200.
func (c *contract) waitHTTP(t *testing.T, addr, path string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	testenv.EventuallyNil(t, 20*time.Second, "http://"+addr+path+" to answer 200", func() error {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
}

// removeAll removes whatever the contract left behind.
func (c *contract) removeAll() {
	list, err := c.rt.List(context.Background(), map[string]string{"io.checkfleet.test": c.run})
	if err != nil {
		c.t.Errorf("list for cleanup: %v", err)
		return
	}
	for _, in := range list {
		if err := c.rt.Remove(context.Background(), in.ID); err != nil {
			c.t.Errorf("cleanup: %v", err)
		}
	}
}
