package supervisor

import (
	"context"
	"os"
	"strconv"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

func itoa(n int) string { return strconv.Itoa(n) }

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// Instances lists every instance id, oldest first.
func (f *fakeRuntime) Instances() []runtime.InstanceID {
	list, _ := f.List(context.Background(), nil)
	out := make([]runtime.InstanceID, len(list))
	for i, in := range list {
		out[i] = in.ID
	}
	return out
}

func (f *fakeRuntime) has(id runtime.InstanceID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, ok := f.insts[id]
	return ok && fi.in.State == runtime.Running
}

func (f *fakeRuntime) sigtermsOf(id runtime.InstanceID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sigterms[id]
}

// sigtermTotal counts the SIGTERMs sent to any instance.
func (f *fakeRuntime) sigtermTotal() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.sigterms {
		n += c
	}
	return n
}

// created counts the instances ever created.
func (f *fakeRuntime) created() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq
}
