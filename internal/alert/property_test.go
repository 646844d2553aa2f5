package alert

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// stream turns fuzz input into a policy and a result stream: three
// locations, each byte one run at one location (its status, sometimes a
// certificate), runs at a location every 30 s.
func stream(data []byte) (Config, []check.Result) {
	p := DefaultPolicy()
	if len(data) > 0 {
		b := data[0]
		p.FailAfterRuns = 1 + int(b%3)
		if b&4 != 0 {
			p.MinLocations = 2
		}
		if b&8 != 0 {
			p.ReminderEvery, p.MaxReminders = time.Minute, 3
		}
		if b&16 != 0 {
			p.Errors = ErrorsAsFailure
		}
		if b&32 != 0 {
			p.Scope, p.MinLocations = ScopeLocation, 1
		}
		if b&64 != 0 {
			p.FailAfter = 45 * time.Second
		}
		p.AlertOnDegraded = b&128 != 0
		data = data[1:]
	}
	win := MaintenanceWindow{ID: "m", Cron: "*/7 * * * *", Duration: 2 * time.Minute, CheckIDs: []string{"api"}}
	if err := win.Validate(); err != nil {
		panic(err)
	}
	locs := []string{"ap", "eu", "us"}
	cfg := Config{Check: apiCheck(locs...), Policy: p, Maintenance: []MaintenanceWindow{win}}
	next := make([]int, len(locs))
	var rs []check.Result
	for _, b := range data {
		l := int(b) % len(locs)
		st := check.Statuses()[int(b>>2)%4]
		if b>>4 < 6 { // mostly passed and failed, which is what moves state
			st = []check.Status{check.StatusPassed, check.StatusFailed}[(b>>4)%2]
		}
		r := run(locs[l], next[l], st)
		if b>>6 == 3 {
			r.HTTP = &check.HTTPResult{TLS: &check.TLSInfo{CertNotAfter: r.ScheduledAt.Add(time.Duration(b%30) * 24 * time.Hour)}}
		}
		next[l] += 1 + int(b>>7)
		rs = append(rs, r)
	}
	return cfg, rs
}

// checkStream feeds rs in the order of perm (with redeliveries) and checks
// that after every result the incremental evaluation equals a
// recomputation, that no notification key is returned twice, and that no
// incident is left open on the channels that the results show closed.
func checkStream(t *testing.T, cfg Config, rs []check.Result, rng *rand.Rand) {
	t.Helper()
	order := slices.Clone(rs)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i := 0; i < len(rs)/4; i++ { // redeliveries
		order = slices.Insert(order, rng.IntN(len(order)+1), rs[rng.IntN(len(rs))])
	}
	e := newEval(t, cfg)
	sent := map[string]bool{}
	open := map[string]Notification{}
	var got []check.Result
	for i, r := range order {
		for _, n := range e.Add(r) {
			if sent[n.Key] {
				t.Fatalf("arrival %d: %s returned twice", i, n.Key)
			}
			sent[n.Key] = true
			switch n.Kind {
			case KindTrigger:
				for _, o := range open {
					if o.Scope == n.Scope && o.Track == n.Track {
						t.Fatalf("arrival %d: second trigger %s while %s is open", i, n.Key, o.Key)
					}
				}
				open[n.IncidentID] = n
			case KindRecovery:
				delete(open, n.IncidentID)
			}
		}
		got = append(got, r)
		if i%7 != 0 && i != len(order)-1 {
			continue // recomputing after every arrival is quadratic
		}
		want, err := Evaluate(cfg, got)
		if err != nil {
			t.Fatal(err)
		}
		if s := e.State(); !reflect.DeepEqual(s, want.State) {
			t.Fatalf("arrival %d: state\n got %+v\nwant %+v", i, s, want.State)
		}
		if inc := e.Incidents(); !reflect.DeepEqual(inc, want.Incidents) {
			t.Fatalf("arrival %d: incidents\n got %+v\nwant %+v", i, inc, want.Incidents)
		}
		if ns := e.Notifications(); !reflect.DeepEqual(ns, want.Notifications) {
			t.Fatalf("arrival %d: notifications\n got %q\nwant %q", i, brief(ns), brief(want.Notifications))
		}
	}
	if !cfg.Policy.Recovery {
		return
	}
	final := e.State()
	for _, o := range open {
		m := e.r.machineFor(e, o.Scope, o.Track)
		if m == nil || m.cond == OK {
			t.Errorf("%s left open on the channels, but %s/%s is ok (state %+v)", o.Key, o.Scope, o.Track, final)
		}
	}
}

// inOrder feeds rs sorted, with redeliveries, and checks that what Add
// returns is exactly the recomputed notifications.
func inOrder(t *testing.T, cfg Config, rs []check.Result) {
	t.Helper()
	want, err := Evaluate(cfg, rs)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b check.Result) int {
		if c := a.ScheduledAt.Compare(b.ScheduledAt); c != 0 {
			return c
		}
		return cmpStrings(a.Location, b.Location)
	})
	e := newEval(t, cfg)
	var got []Notification
	for _, r := range sorted {
		got = append(got, e.Add(r, r)...) // and redelivered at once
	}
	if !reflect.DeepEqual(brief(got), brief(want.Notifications)) {
		t.Fatalf("in order\n got %q\nwant %q", brief(got), brief(want.Notifications))
	}
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func seedOf(data []byte) *rand.Rand {
	h := fnv.New64a()
	h.Write(data)
	return rand.New(rand.NewPCG(h.Sum64(), 7))
}

// TestIncrementalEqualsRecompute runs random streams through random
// arrival orders.
func TestIncrementalEqualsRecompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		data := make([]byte, 20+rng.IntN(120))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		// Outages: runs of the same byte fail together.
		for j := 1; j+6 < len(data); j += 17 {
			for k := range 6 {
				data[j+k] = byte(0x10 | k%3)
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			cfg, rs := stream(data)
			inOrder(t, cfg, rs)
			for range 3 {
				checkStream(t, cfg, rs, rng)
			}
		})
	}
}

// FuzzEvaluate is TestIncrementalEqualsRecompute on fuzzed streams.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{0, 0x10, 0x11, 0x12, 0x10, 0x11, 0x12, 0x00, 0x01, 0x02})
	f.Add([]byte{37, 0x10, 0x00, 0x10, 0x00, 0x10, 0x00, 0x10, 0x00, 0x10, 0x00, 0x10})
	f.Add([]byte{200, 0xc0, 0xc1, 0xc2, 0xd0, 0xd1, 0x10, 0x11, 0x12})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 400 {
			return
		}
		cfg, rs := stream(data)
		inOrder(t, cfg, rs)
		checkStream(t, cfg, rs, seedOf(data))
	})
}

// BenchmarkEvaluatePerResult is the cost of one ingested result: three
// locations, results in order, an outage every 200 runs, a nightly
// maintenance window, a certificate on every result. Results are made in
// chunks outside the timer, so the figure is Add alone.
func BenchmarkEvaluatePerResult(b *testing.B) {
	p := DefaultPolicy()
	p.ReminderEvery, p.MaxReminders = 5*time.Minute, 3
	win := MaintenanceWindow{ID: "nightly", Cron: "0 3 * * *", Duration: time.Hour, Tags: []string{"prod"}}
	if err := win.Validate(); err != nil {
		b.Fatal(err)
	}
	locs := []string{"ap", "eu", "us"}
	e, err := NewEvaluator(Config{Check: apiCheck(locs...), Policy: p, Maintenance: []MaintenanceWindow{win}})
	if err != nil {
		b.Fatal(err)
	}
	tls := &check.HTTPResult{TLS: &check.TLSInfo{CertNotAfter: t0.Add(60 * 24 * time.Hour)}}
	chunk := make([]check.Result, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += len(chunk) {
		b.StopTimer()
		n := min(len(chunk), b.N-done)
		for j := range n {
			i := done + j
			st := check.StatusPassed
			if i%600 > 580 {
				st = check.StatusFailed
			}
			chunk[j] = run(locs[i%3], i/3, st)
			chunk[j].HTTP = tls
		}
		b.StartTimer()
		for j := range n {
			e.Add(chunk[j])
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/result")
	if len(e.Incidents()) == 0 && b.N > 600 {
		b.Fatal("no incident: the benchmark measures nothing")
	}
}
