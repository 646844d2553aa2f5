package fleet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2031, time.March, 14, 9, 0, 0, 0, time.UTC)

var (
	v1 = Image{Tag: "v1", ID: "sha256:1111"}
	v2 = Image{Tag: "v2", ID: "sha256:2222"}
	v3 = Image{Tag: "v3", ID: "sha256:3333"}
)

// hostIDs returns h000 ... h(n-1), shuffled deterministically.
func hostIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("h%03d", i)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

func TestWaveSize(t *testing.T) {
	tests := []struct{ n, percent, want int }{
		{0, 10, 0},
		{1, 1, 1},
		{1, 100, 1},
		{3, 10, 1},
		{3, 34, 2},
		{3, 33, 1},
		{10, 10, 1},
		{10, 25, 3},
		{20, 10, 2},
		{20, 25, 5},
		{100, 10, 10},
		{100, 25, 25},
		{101, 10, 11},
		{7, 0, 0},
		{7, -5, 0},
		{7, 100, 7},
		{7, 250, 7},
	}
	for _, tt := range tests {
		if got := WaveSize(tt.n, tt.percent); got != tt.want {
			t.Errorf("WaveSize(%d, %d) = %d, want %d", tt.n, tt.percent, got, tt.want)
		}
	}
}

func TestWave(t *testing.T) {
	in, out := Wave([]string{"c", "a", "d", "b", "a"}, 50)
	if !slices.Equal(in, []string{"a", "b"}) || !slices.Equal(out, []string{"c", "d"}) {
		t.Errorf("Wave(50%%) = %v, %v; want [a b], [c d] (sorted, a counted once)", in, out)
	}
	in, out = Wave(nil, 50)
	if len(in) != 0 || len(out) != 0 {
		t.Errorf("Wave of no hosts = %v, %v", in, out)
	}
	// Appending to in must not overwrite out.
	in, out = Wave([]string{"a", "b", "c"}, 34)
	_ = append(in, "x")
	if !slices.Equal(out, []string{"c"}) {
		t.Errorf("appending to in changed out: %v", out)
	}
}

func TestDesired(t *testing.T) {
	ring := []string{"h3", "h1", "h4", "h2"}
	full := Release{Ring: Production, Image: v2, Previous: v1, Percent: 100, RolloutID: "r2", UpdatedAt: t0}
	half := full
	half.Percent = 50
	firstWave := Release{Ring: Production, Image: v1, Percent: 25, RolloutID: "r1", UpdatedAt: t0}
	unresolved := full
	unresolved.Image = Image{Tag: "v2"}
	tests := []struct {
		name   string
		r      Release
		hosts  []string
		host   string
		want   Image
		wantOK bool
	}{
		{name: "pointer never set: keep what it runs", r: Release{Ring: Production}, hosts: ring, host: "h1"},
		{name: "full rollout", r: full, hosts: ring, host: "h4", want: v2, wantOK: true},
		{name: "half: first in sorted order", r: half, hosts: ring, host: "h1", want: v2, wantOK: true},
		{name: "half: second", r: half, hosts: ring, host: "h2", want: v2, wantOK: true},
		{name: "half: third keeps previous", r: half, hosts: ring, host: "h3", want: v1, wantOK: true},
		{name: "half: a host missing from the list is counted", r: half, hosts: []string{"h2", "h3", "h4"}, host: "h1", want: v2, wantOK: true},
		{name: "half: a host missing from the list is counted (last)", r: half, hosts: []string{"h1", "h2", "h3"}, host: "h4", want: v1, wantOK: true},
		{name: "a ring of one at 1%", r: Release{Ring: Canary, Image: v2, Previous: v1, Percent: 1, RolloutID: "r", UpdatedAt: t0}, host: "only", want: v2, wantOK: true},
		{name: "first partial wave ever: inside", r: firstWave, hosts: ring, host: "h1", want: v1, wantOK: true},
		{name: "first partial wave ever: outside keeps what it runs", r: firstWave, hosts: ring, host: "h2"},
		{name: "unresolved image: the host resolves the tag", r: unresolved, hosts: ring, host: "h1", want: Image{Tag: "v2"}, wantOK: true},
	}
	for _, tt := range tests {
		got, ok := Desired(tt.r, tt.hosts, tt.host)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: Desired = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestDesiredWidensOnlyTheDifference(t *testing.T) {
	for _, n := range []int{1, 3, 7, 20, 100, 137} {
		ring := hostIDs(n)
		r := Release{Ring: Production, Image: v1, Percent: 100, RolloutID: "r1", UpdatedAt: t0}
		steps := []int{1, 10, 25, 50, 100}
		on := map[int]map[string]bool{}
		var err error
		for i, p := range steps {
			if r, err = r.Deploy(v2, p, fmt.Sprint("r", i+2), t0); err != nil {
				t.Fatalf("n=%d: Deploy at %d%%: %v", n, p, err)
			}
			on[p] = map[string]bool{}
			for _, h := range ring {
				img, ok := Desired(r, ring, h)
				if !ok || (img != v1 && img != v2) {
					t.Fatalf("n=%d, %d%%: Desired(%s) = %v, %v", n, p, h, img, ok)
				}
				on[p][h] = img == v2
			}
		}
		for i, p := range steps {
			count := 0
			for _, h := range ring {
				if on[p][h] {
					count++
				}
				if i > 0 && on[steps[i-1]][h] && !on[p][h] {
					t.Errorf("n=%d: %s moved back from v2 to v1 going from %d%% to %d%%", n, h, steps[i-1], p)
				}
			}
			if want := WaveSize(n, p); count != want {
				t.Errorf("n=%d, %d%%: %d hosts on v2, want %d", n, p, count, want)
			}
		}
	}
	// The figures of the issue: on 100 hosts, 10% then 25% moves 15 more.
	ring := hostIDs(100)
	r10 := Release{Ring: Production, Image: v2, Previous: v1, Percent: 10, RolloutID: "a", UpdatedAt: t0}
	r25 := r10
	r25.Percent = 25
	moved := 0
	for _, h := range ring {
		a, _ := Desired(r10, ring, h)
		b, _ := Desired(r25, ring, h)
		if a != b {
			moved++
		}
	}
	if moved != 15 {
		t.Errorf("10%% -> 25%% of 100 hosts moved %d hosts, want 15", moved)
	}
}

func TestDeploy(t *testing.T) {
	unset := Release{Ring: Production}
	atV1 := Release{Ring: Production, Image: v1, Percent: 100, RolloutID: "r1", UpdatedAt: t0, Version: 4}
	partial := Release{Ring: Production, Image: v2, Previous: v1, Percent: 25, RolloutID: "r2", UpdatedAt: t0, Version: 5}
	unresolvedPartial := partial
	unresolvedPartial.Image = Image{Tag: "v2"}
	movedLatest := Release{Ring: Production, Image: Image{Tag: "latest", ID: "sha256:old"}, Previous: v1, Percent: 100, RolloutID: "r", UpdatedAt: t0}
	now := t0.Add(time.Hour)
	tests := []struct {
		name    string
		r       Release
		to      Image
		percent int
		want    Release
		wantErr string
	}{
		{name: "first deploy", r: unset, to: Image{Tag: "v1"}, percent: 100,
			want: Release{Ring: Production, Image: Image{Tag: "v1"}, Percent: 100, RolloutID: "new", UpdatedAt: now}},
		{name: "first deploy, partial", r: unset, to: v1, percent: 10,
			want: Release{Ring: Production, Image: v1, Percent: 10, RolloutID: "new", UpdatedAt: now}},
		{name: "a new image", r: atV1, to: Image{Tag: "v2"}, percent: 10,
			want: Release{Ring: Production, Image: Image{Tag: "v2"}, Previous: v1, Percent: 10, RolloutID: "new", UpdatedAt: now, Version: 4}},
		{name: "widening a partial rollout keeps previous", r: partial, to: Image{Tag: "v2"}, percent: 50,
			want: Release{Ring: Production, Image: v2, Previous: v1, Percent: 50, RolloutID: "new", UpdatedAt: now, Version: 5}},
		{name: "widening to all", r: partial, to: v2, percent: 100,
			want: Release{Ring: Production, Image: v2, Previous: v1, Percent: 100, RolloutID: "new", UpdatedAt: now, Version: 5}},
		{name: "the same wave again (a resumed deploy)", r: partial, to: v2, percent: 25,
			want: Release{Ring: Production, Image: v2, Previous: v1, Percent: 25, RolloutID: "new", UpdatedAt: now, Version: 5}},
		{name: "widening pins an unresolved image", r: unresolvedPartial, to: v2, percent: 50,
			want: Release{Ring: Production, Image: v2, Previous: v1, Percent: 50, RolloutID: "new", UpdatedAt: now, Version: 5}},
		{name: "a tag that moved is a new image", r: movedLatest, to: Image{Tag: "latest", ID: "sha256:new"}, percent: 100,
			want: Release{Ring: Production, Image: Image{Tag: "latest", ID: "sha256:new"}, Previous: movedLatest.Image, Percent: 100, RolloutID: "new", UpdatedAt: now}},
		{name: "narrowing", r: partial, to: v2, percent: 10, wantErr: "runs on 25% of the ring already; roll back rather than narrow it to 10%"},
		{name: "a new image over a partial rollout", r: partial, to: v3, percent: 10,
			wantErr: "v2 (sha256:2222) runs on 25% of the ring and v1 (sha256:1111) on the rest; unify or roll back first"},
		{name: "no tag", r: atV1, to: Image{ID: "sha256:x"}, percent: 100, wantErr: "no tag"},
		{name: "percent 0", r: atV1, to: v2, percent: 0, wantErr: "percent 0 is not between 1 and 100"},
		{name: "percent 101", r: atV1, to: v2, percent: 101, wantErr: "percent 101 is not between 1 and 100"},
	}
	for _, tt := range tests {
		got, err := tt.r.Deploy(tt.to, tt.percent, "new", now)
		if tt.wantErr != "" {
			if !errors.Is(err, ErrRefusedStep) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want ErrRefusedStep saying %q", tt.name, err, tt.wantErr)
			}
			if got != tt.r {
				t.Errorf("%s: a refused deploy changed the pointer: %+v", tt.name, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tt.name, got, err, tt.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: the result does not validate: %v", tt.name, err)
		}
	}
	if _, err := atV1.Deploy(v2, 100, "", now); !errors.Is(err, ErrRefusedStep) {
		t.Errorf("Deploy without a rollout id: err = %v", err)
	}
}

func TestRollBackUnifyResolve(t *testing.T) {
	now := t0.Add(time.Hour)
	unset := Release{Ring: Canary}
	atV1 := Release{Ring: Canary, Image: v1, Percent: 100, RolloutID: "r1", UpdatedAt: t0}
	partial := Release{Ring: Production, Image: v2, Previous: v1, Percent: 10, RolloutID: "r2", UpdatedAt: t0, Version: 3}
	unresolved := Release{Ring: Dev, Image: Image{Tag: "v2"}, Previous: v1, Percent: 100, RolloutID: "r2", UpdatedAt: t0}

	steps := []struct {
		name    string
		do      func() (Release, error)
		want    Release
		wantErr string
	}{
		{name: "roll back a partial rollout", do: func() (Release, error) { return partial.RollBack("back", now) },
			want: Release{Ring: Production, Image: v1, Percent: 100, RolloutID: "back", UpdatedAt: now, Version: 3}},
		{name: "roll back with nothing before", do: func() (Release, error) { return atV1.RollBack("back", now) },
			wantErr: "v1 (sha256:1111) has no previous image to return to"},
		{name: "roll back a pointer never set", do: func() (Release, error) { return unset.RollBack("back", now) },
			wantErr: "nothing was ever deployed to it"},
		{name: "unify a partial rollout", do: func() (Release, error) { return partial.Unify("u", now) },
			want: Release{Ring: Production, Image: v2, Previous: v1, Percent: 100, RolloutID: "u", UpdatedAt: now, Version: 3}},
		{name: "unify a full one: only the rollout changes", do: func() (Release, error) { return atV1.Unify("u", now) },
			want: Release{Ring: Canary, Image: v1, Percent: 100, RolloutID: "u", UpdatedAt: now}},
		{name: "unify a pointer never set", do: func() (Release, error) { return unset.Unify("u", now) }, wantErr: "nothing was ever deployed"},
		{name: "resolve", do: func() (Release, error) { return unresolved.Resolve("sha256:2222", now) },
			want: Release{Ring: Dev, Image: v2, Previous: v1, Percent: 100, RolloutID: "r2", UpdatedAt: now}},
		{name: "resolve to the pinned id again", do: func() (Release, error) { return atV1.Resolve("sha256:1111", now) }, want: atV1},
		{name: "resolve to another id", do: func() (Release, error) { return atV1.Resolve("sha256:9999", now) },
			wantErr: "v1 on ring canary: refused: it is pinned to sha256:1111, a host resolved it to sha256:9999"},
		{name: "resolve to nothing", do: func() (Release, error) { return unresolved.Resolve("", now) }, wantErr: "empty image id"},
		{name: "resolve a pointer never set", do: func() (Release, error) { return unset.Resolve("x", now) }, wantErr: "nothing was ever deployed"},
	}
	for _, st := range steps {
		got, err := st.do()
		if st.wantErr != "" {
			if !errors.Is(err, ErrRefusedStep) || !strings.Contains(err.Error(), st.wantErr) {
				t.Errorf("%s: err = %v, want ErrRefusedStep saying %q", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", st.name, got, err, st.want)
		}
	}
	// A second rollback is refused rather than returning to the bad image.
	back, _ := partial.RollBack("back", now)
	if _, err := back.RollBack("again", now); !errors.Is(err, ErrRefusedStep) {
		t.Errorf("a second rollback: err = %v, want ErrRefusedStep", err)
	}
}

func TestReleaseValidate(t *testing.T) {
	good := Release{Ring: Production, Image: Image{Tag: "v2"}, Previous: v1, Percent: 10, RolloutID: "r", UpdatedAt: t0}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(%+v): %v", good, err)
	}
	if err := (Release{Ring: Dev}).Validate(); err != nil {
		t.Errorf("an unset pointer: %v", err)
	}
	bad := map[string]func(r *Release){
		"unknown ring":          func(r *Release) { r.Ring = "staging" },
		"no tag":                func(r *Release) { r.Image.Tag = "" },
		"previous without tag":  func(r *Release) { r.Previous = Image{ID: "x"} },
		"percent 0":             func(r *Release) { r.Percent = 0 },
		"percent 101":           func(r *Release) { r.Percent = 101 },
		"no rollout":            func(r *Release) { r.RolloutID = "" },
		"no time":               func(r *Release) { r.UpdatedAt = time.Time{} },
		"unset with a previous": func(r *Release) { r.Image = Image{} },
	}
	for name, mutate := range bad {
		r := good
		mutate(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("Validate with %s succeeded", name)
		}
	}
}

func TestImage(t *testing.T) {
	tests := []struct {
		running, want Image
		matches       bool
	}{
		{v2, v2, true},
		{v2, Image{Tag: "v2"}, true},
		{Image{Tag: "v2", ID: "other"}, v2, false},
		{Image{Tag: "other", ID: v2.ID}, v2, true},
		{v1, Image{Tag: "v2"}, false},
		{Image{}, Image{}, false},
	}
	for _, tt := range tests {
		if got := tt.running.Matches(tt.want); got != tt.matches {
			t.Errorf("%v.Matches(%v) = %v, want %v", tt.running, tt.want, got, tt.matches)
		}
	}
	for img, want := range map[Image]string{{}: "none", {Tag: "v2"}: "v2 (unresolved)", v1: "v1 (sha256:1111)"} {
		if got := img.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
