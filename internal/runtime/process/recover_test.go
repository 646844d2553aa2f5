package process

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// sleepImage stores /bin/sleep as an image of rt.
func sleepImage(t *testing.T, rt *Runtime) runtime.Image {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatalf("needs /bin/sleep (coreutils): %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sleep-1"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := rt.Resolve(context.Background(), filepath.Join(dir, "sleep"), "1", runtime.PullIfNotPresent)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// A runtime that died between starting a process and recording its pid
// left a "starting" record: the next one adopts the process by its marker,
// and Remove kills it, instead of orphaning it.
func TestStartInterruptedIsAdopted(t *testing.T) {
	dir := t.TempDir()
	rt, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	img := sleepImage(t, rt)
	id, err := rt.Create(ctx, runtime.Spec{Image: img, Args: []string{"600"}, Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rt.records.load(id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Starting = true
	if err := rt.records.save(rec); err != nil {
		t.Fatal(err)
	}
	// What Start does before it saves the pid, by another process.
	p, err := os.StartProcess(rt.images.path(img.ID), []string{"sleep", "600"}, &os.ProcAttr{
		Env: []string{markerEnv + "=" + string(id)}, Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill(); _, _ = p.Wait() })

	observer, err := Observe(dir)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := observer.List(ctx, map[string]string{"k": "v"}); err != nil || len(list) != 1 || list[0].State != runtime.Running {
		t.Fatalf("observer's list: %+v, %v; want the process running", list, err)
	}
	if rec, _ := rt.records.load(id); rec.PID != 0 {
		t.Fatalf("the observer wrote the record (pid %d)", rec.PID)
	}
	restarted, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := restarted.List(ctx, map[string]string{"k": "v"})
	if err != nil || len(list) != 1 || list[0].State != runtime.Running || list[0].PID != p.Pid {
		t.Fatalf("after the restart: %+v, %v; want pid %d adopted", list, err, p.Pid)
	}
	if err := restarted.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _, _ = p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Remove did not kill the adopted process")
	}
}

// A "starting" record whose process never came up is an instance that
// exited, not one that runs forever.
func TestStartThatNeverHappenedIsExited(t *testing.T) {
	rt, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := rt.Create(ctx, runtime.Spec{Image: sleepImage(t, rt), Args: []string{"600"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := rt.records.load(id)
	rec.Starting = true
	if err := rt.records.save(rec); err != nil {
		t.Fatal(err)
	}
	in, err := rt.Inspect(ctx, id)
	if err != nil || in.State != runtime.Exited || in.ExitCode != -1 || in.Reason == "" {
		t.Fatalf("%+v, %v; want exited, status unknown, with a reason", in, err)
	}
}

// The same binary resolves to the same id under any tag; the store keeps
// the bits of an id even when the tag's file is overwritten.
func TestImagesArePinnedByContent(t *testing.T) {
	rt, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := t.TempDir()
	write := func(tag, content string) {
		if err := os.WriteFile(filepath.Join(src, "worker-"+tag), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "#!/bin/sh\necho one\n")
	write("b", "#!/bin/sh\necho one\n")
	a, errA := rt.Resolve(ctx, filepath.Join(src, "worker"), "a", runtime.PullAlways)
	b, errB := rt.Resolve(ctx, filepath.Join(src, "worker"), "b", runtime.PullAlways)
	if errA != nil || errB != nil || a.ID != b.ID {
		t.Fatalf("same bits under two tags: %v %v, %v %v", a, errA, b, errB)
	}
	write("a", "#!/bin/sh\necho two\n")
	if again, err := rt.Resolve(ctx, filepath.Join(src, "worker"), "a", runtime.PullIfNotPresent); err != nil || again.ID != a.ID {
		t.Fatalf("if-not-present after the file changed: %v, %v; want the recorded id %s", again, err, a.ID)
	}
	changed, err := rt.Resolve(ctx, filepath.Join(src, "worker"), "a", runtime.PullAlways)
	if err != nil || changed.ID == a.ID {
		t.Fatalf("always after the file changed: %v, %v; want a new id", changed, err)
	}
	if b, err := os.ReadFile(rt.images.path(a.ID)); err != nil || string(b) != "#!/bin/sh\necho one\n" {
		t.Fatalf("stored bits of %s: %q, %v", a.ID, b, err)
	}
	if err := os.WriteFile(filepath.Join(src, "worker-c"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Resolve(ctx, filepath.Join(src, "worker"), "c", runtime.PullAlways); err == nil {
		t.Fatal("a file that is not executable resolved")
	}
}
