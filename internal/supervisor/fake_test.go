package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// behaviour is how the instances of a fake image act.
type behaviour struct {
	readyAfter time.Duration // from start to ready
	neverReady bool
	readySlots map[int]bool  // when set, ready only in these slots
	exitAfter  time.Duration // exits on its own with exitCode (0: runs until signalled)
	exitCode   int
	drainFor   time.Duration // SIGTERM to exit
	ignoreTerm bool
	info       api.WorkerInfo // what /info answers (default: version "test", job schemas 1)
}

// fakeRuntime is an in-memory runtime.Runtime with a prober over the same
// instances, for unit tests of the supervisor's logic (run inside a
// testing/synctest bubble: its processes are timers). It records the
// fewest ready and the most running instances over every transition.
type fakeRuntime struct {
	mu                   sync.Mutex
	tags                 map[string]runtime.ImageID
	behave               map[runtime.ImageID]behaviour
	insts                map[runtime.InstanceID]*fakeInst
	seq                  int
	watch                bool
	minReady, maxRunning int
	sigterms             map[runtime.InstanceID]int
}

type fakeInst struct {
	in       runtime.Instance
	spec     runtime.Spec
	b        behaviour
	ready    bool
	draining bool
	exited   chan struct{}
	timers   []*time.Timer
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{tags: map[string]runtime.ImageID{}, behave: map[runtime.ImageID]behaviour{},
		insts: map[runtime.InstanceID]*fakeInst{}, minReady: -1, sigterms: map[runtime.InstanceID]int{}}
}

// image adds repo:tag with behaviour b and returns it.
func (f *fakeRuntime) image(repo, tag string, b behaviour) runtime.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := runtime.ImageID(fmt.Sprintf("sha256:%064x", len(f.tags)+1))
	f.tags[repo+":"+tag], f.behave[id] = id, b
	return runtime.Image{ID: id, Ref: repo + ":" + tag}
}

// startWatching begins recording the fewest ready / most running.
func (f *fakeRuntime) startWatching() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watch, f.minReady, f.maxRunning = true, -1, 0
	f.observeLocked()
}

func (f *fakeRuntime) watched() (minReady, maxRunning int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watch = false
	return f.minReady, f.maxRunning
}

func (f *fakeRuntime) observeLocked() {
	if !f.watch {
		return
	}
	ready, running := 0, 0
	for _, fi := range f.insts {
		if fi.in.State == runtime.Running {
			running++
			if fi.ready && !fi.draining {
				ready++
			}
		}
	}
	if f.minReady < 0 || ready < f.minReady {
		f.minReady = ready
	}
	f.maxRunning = max(f.maxRunning, running)
}

func (f *fakeRuntime) Resolve(_ context.Context, repo, tag string, _ runtime.PullPolicy) (runtime.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.tags[repo+":"+tag]
	if !ok {
		return runtime.Image{}, fmt.Errorf("resolve %s:%s: %w", repo, tag, runtime.ErrImageNotFound)
	}
	return runtime.Image{ID: id, Ref: repo + ":" + tag}, nil
}

func (f *fakeRuntime) Create(_ context.Context, spec runtime.Spec) (runtime.InstanceID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.behave[spec.Image.ID]
	if !ok {
		return "", runtime.ErrImageNotFound
	}
	f.seq++
	id := runtime.InstanceID(fmt.Sprintf("i%03d", f.seq))
	f.insts[id] = &fakeInst{in: runtime.Instance{ID: id, Name: spec.Name, Image: spec.Image.ID, Labels: spec.Labels,
		State: runtime.Created, CreatedAt: time.Now()}, spec: spec, b: b, exited: make(chan struct{})}
	return id, nil
}

// add puts an instance in directly, as a previous supervisor left it.
func (f *fakeRuntime) add(img runtime.Image, labels map[string]string, ready bool) runtime.InstanceID {
	id, err := f.Create(context.Background(), runtime.Spec{Image: img, Labels: labels})
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi := f.insts[id]
	fi.in.State, fi.in.StartedAt, fi.in.PID, fi.ready = runtime.Running, time.Now(), 1000+f.seq, ready
	return id
}

func (f *fakeRuntime) Start(_ context.Context, id runtime.InstanceID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, ok := f.insts[id]
	if !ok {
		return runtime.ErrNotFound
	}
	fi.in.State, fi.in.StartedAt, fi.in.PID = runtime.Running, time.Now(), 1000+f.seq
	slot, _ := slotOf(fi.in)
	if !fi.b.neverReady && (fi.b.readySlots == nil || fi.b.readySlots[slot]) {
		fi.timers = append(fi.timers, time.AfterFunc(fi.b.readyAfter, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if fi.in.State == runtime.Running {
				fi.ready = true
				f.observeLocked()
			}
		}))
	}
	if fi.b.exitAfter > 0 {
		fi.timers = append(fi.timers, time.AfterFunc(fi.b.exitAfter, func() { f.exit(fi, fi.b.exitCode) }))
	}
	f.observeLocked()
	return nil
}

func (f *fakeRuntime) exit(fi *fakeInst, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fi.in.State != runtime.Running {
		return
	}
	fi.in.State, fi.in.ExitCode, fi.in.FinishedAt, fi.in.PID, fi.ready = runtime.Exited, code, time.Now(), 0, false
	for _, t := range fi.timers {
		t.Stop()
	}
	close(fi.exited)
	f.observeLocked()
}

// kill ends an instance from outside, like kill -9.
func (f *fakeRuntime) kill(id runtime.InstanceID) {
	f.mu.Lock()
	fi := f.insts[id]
	f.mu.Unlock()
	f.exit(fi, 137)
}

func (f *fakeRuntime) Signal(_ context.Context, id runtime.InstanceID, sig syscall.Signal) error {
	f.mu.Lock()
	fi, ok := f.insts[id]
	if !ok || fi.in.State != runtime.Running {
		f.mu.Unlock()
		return nil
	}
	if sig == syscall.SIGKILL {
		f.mu.Unlock()
		f.exit(fi, 137)
		return nil
	}
	f.sigterms[id]++
	if !fi.b.ignoreTerm && !fi.draining {
		fi.draining = true
		fi.timers = append(fi.timers, time.AfterFunc(fi.b.drainFor, func() { f.exit(fi, 0) }))
	}
	f.observeLocked()
	f.mu.Unlock()
	return nil
}

func (f *fakeRuntime) Wait(ctx context.Context, id runtime.InstanceID) (runtime.Instance, error) {
	f.mu.Lock()
	fi, ok := f.insts[id]
	f.mu.Unlock()
	if !ok {
		return runtime.Instance{ID: id, State: runtime.Gone, ExitCode: -1}, nil
	}
	select {
	case <-fi.exited:
		return f.Inspect(ctx, id)
	case <-ctx.Done():
		return runtime.Instance{}, ctx.Err()
	}
}

func (f *fakeRuntime) Remove(_ context.Context, id runtime.InstanceID) error {
	f.mu.Lock()
	fi, ok := f.insts[id]
	f.mu.Unlock()
	if !ok {
		return nil
	}
	f.exit(fi, 137)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.insts, id)
	return nil
}

func (f *fakeRuntime) Inspect(_ context.Context, id runtime.InstanceID) (runtime.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, ok := f.insts[id]
	if !ok {
		return runtime.Instance{}, runtime.ErrNotFound
	}
	return fi.in, nil
}

func (f *fakeRuntime) List(_ context.Context, labels map[string]string) ([]runtime.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.Instance
	for _, fi := range f.insts {
		if fi.in.Matches(labels) {
			out = append(out, fi.in)
		}
	}
	// Oldest first, like the real runtimes.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

func (f *fakeRuntime) Logs(_ context.Context, id runtime.InstanceID, _ int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, ok := f.insts[id]
	if !ok {
		return "", runtime.ErrNotFound
	}
	if fi.in.State == runtime.Exited {
		return fmt.Sprintf("fake: exiting with code %d", fi.in.ExitCode), nil
	}
	return "", nil
}

func (f *fakeRuntime) Close() error { return nil }

// running returns the running instances by slot.
func (f *fakeRuntime) running() map[int][]runtime.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int][]runtime.Instance{}
	for _, fi := range f.insts {
		if slot, ok := slotOf(fi.in); ok && fi.in.State == runtime.Running {
			out[slot] = append(out[slot], fi.in)
		}
	}
	return out
}

// Ready and Checks make the fake its own prober: an instance is found by
// its health address.
func (f *fakeRuntime) Ready(_ context.Context, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fi := range f.insts {
		if fi.in.Labels[api.LabelHealth] != addr || fi.in.State != runtime.Running {
			continue
		}
		switch {
		case fi.draining:
			return fmt.Errorf("/readyz: %w", ErrDraining)
		case !fi.ready:
			return errors.New("/readyz answered 503: not ready")
		}
		return nil
	}
	return fmt.Errorf("dial %s: connection refused", addr)
}

func (f *fakeRuntime) Checks(context.Context, string) (float64, error) { return 0, nil }

func (f *fakeRuntime) Info(_ context.Context, addr string) (api.WorkerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fi := range f.insts {
		if fi.in.Labels[api.LabelHealth] == addr && fi.in.State == runtime.Running {
			if fi.b.info.JobSchemas == nil {
				return api.WorkerInfo{Version: "test", JobSchemas: []int{1}}, nil
			}
			return fi.b.info, nil
		}
	}
	return api.WorkerInfo{}, fmt.Errorf("dial %s: connection refused", addr)
}
