package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// apiResult is an api run with every field set, its times in CEST with
// nanoseconds.
func apiResult() check.Result {
	fin := time.Date(2031, time.March, 14, 11, 15, 30, 123456789, cest)
	return check.Result{
		RunID: "run-api-1", CheckID: "api-login", Location: "eu-west-1", Attempt: 2,
		ScheduledAt: fin.Add(-2*time.Second - 1), StartedAt: fin.Add(-130*time.Millisecond - 7), FinishedAt: fin,
		Status: check.StatusPassed,
		Timings: check.Timings{
			DNS: 3 * time.Millisecond, Connect: 11 * time.Millisecond, TLS: 24 * time.Millisecond,
			TTFB: 87 * time.Millisecond, Download: 2 * time.Millisecond, Total: 130 * time.Millisecond,
		},
		HTTP: &check.HTTPResult{
			StatusCode: 200,
			Headers: []check.Header{
				{Name: "Content-Type", Value: "application/json"},
				{Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"},
			},
			BodyBytes: 2 << 20, BodyTruncated: true,
			TLS: &check.TLSInfo{
				Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "api.example.com",
				CertSubject: "CN=api.example.com", CertIssuer: "CN=R11,O=Let's Encrypt,C=US",
				CertNotBefore: time.Date(2031, 2, 1, 2, 0, 0, 0, cest), CertNotAfter: time.Date(2031, 5, 2, 23, 59, 59, 0, cest),
			},
		},
		Assertions: []check.AssertionResult{
			{Assertion: check.Assertion{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"}, Actual: "200", Passed: true},
			{Assertion: check.Assertion{Source: check.SourceJSONBody, Property: "$.user.id", Comparison: check.Equals, Target: "42"},
				Error: "property $.user.id not found"},
		},
		Worker: check.WorkerInfo{ID: "w-7f3a", Version: "1.4.2", Image: "sha256:0123abcd", Host: "ip-10-0-1-7"},
	}
}

// browserResult is a failed browser run with steps and a screenshot.
func browserResult() check.Result {
	fin := time.Date(2031, time.March, 14, 11, 16, 2, 987654321, time.UTC)
	shot := make([]byte, 300<<10) // larger than a page, SQLite's and PostgreSQL's
	for i := range shot {
		shot[i] = byte(i * 7)
	}
	return check.Result{
		RunID: "run-browser-1", CheckID: "checkout-flow", Location: "us-east-1", Attempt: 1,
		ScheduledAt: fin.Add(-7 * time.Second), StartedAt: fin.Add(-5 * time.Second), FinishedAt: fin,
		Status: check.StatusFailed, Error: `step 3 (assert_text .total): text "€ 0,00" does not match`,
		Timings: check.Timings{Total: 5907 * time.Millisecond},
		Browser: &check.BrowserResult{
			Steps: []check.StepResult{
				{Action: check.ActionGoto, Target: "https://shop.example.com/", StatusCode: 200, Duration: 812 * time.Millisecond, Passed: true},
				{Action: check.ActionClick, Target: "nav > a[href='/cart']", Duration: 95 * time.Millisecond, Passed: true},
				{Action: check.ActionAssertText, Target: ".total", Duration: 5000 * time.Millisecond, Error: `text "€ 0,00" does not match`},
			},
			ConsoleErrors: []string{"Uncaught TypeError: cart is undefined"},
			FailedRequests: []check.FailedRequest{
				{URL: "https://shop.example.com/api/cart", Method: "GET", StatusCode: 500},
				{URL: "https://cdn.example.com/app.js", Method: "GET", Error: "net::ERR_NAME_NOT_RESOLVED"},
			},
			Screenshot: shot,
			Navigation: &check.NavigationTiming{
				URL: "https://shop.example.com/", DNS: 4 * time.Millisecond, Connect: 20 * time.Millisecond,
				TLS: 12 * time.Millisecond, TTFB: 180 * time.Millisecond, Download: 9 * time.Millisecond,
				DOMContentLoaded: 420 * time.Millisecond, Load: 790 * time.Millisecond,
			},
		},
		Worker: check.WorkerInfo{ID: "w-1", Version: "1.4.2"},
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	api, browser := apiResult(), browserResult()
	if n := upsert(t, s, api, browser); n != 2 {
		t.Fatalf("UpsertResults inserted %d, want 2", n)
	}
	gotAPI := get(t, s, api.RunID)
	sameResult(t, "Result(api)", gotAPI, utc(api))
	if loc := gotAPI.FinishedAt.Location(); loc != time.UTC {
		t.Errorf("FinishedAt in %v, want UTC", loc)
	}
	sameResult(t, "Result(browser)", get(t, s, browser.RunID), utc(browser))

	page, next, err := s.ListResults(ctx, store.ResultQuery{})
	if err != nil {
		t.Fatalf("ListResults: %v", err)
	}
	if len(page) != 2 || next != "" {
		t.Fatalf("ListResults = %v, next %q; want both results and no next page", runIDs(page), next)
	}
	sameResult(t, "ListResults[0] (newest: browser, no screenshot)", page[0], withoutScreenshot(utc(browser)))
	sameResult(t, "ListResults[1]", page[1], utc(api))

	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	sameResult(t, "Latest api", latest["api-login"]["eu-west-1"], utc(api))
	sameResult(t, "Latest browser (no screenshot)", latest["checkout-flow"]["us-east-1"], withoutScreenshot(utc(browser)))
}

func testResultNotFound(t *testing.T, s store.Store) {
	if _, err := s.Result(ctx, "no-such-run"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Result of an unknown run: err = %v, want ErrNotFound", err)
	}
	upsert(t, s, result("r1", "c", "l", check.StatusPassed, base, time.Second))
	if _, err := s.Result(ctx, "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Result of an unknown run: err = %v, want ErrNotFound", err)
	}
}

func testUpsertIdempotent(t *testing.T, s store.Store) {
	first := result("dup", "c", "l", check.StatusPassed, base, 100*time.Millisecond)
	second := result("dup", "c", "l", check.StatusFailed, base.Add(time.Minute), 900*time.Millisecond) // a redelivery that differs
	other := result("other", "c", "l", check.StatusPassed, base.Add(time.Second), 100*time.Millisecond)

	if n := upsert(t, s, first, second, other); n != 2 {
		t.Errorf("one batch with a run id twice inserted %d, want 2", n)
	}
	sameResult(t, "the first of a batch wins", get(t, s, "dup"), first)
	if n := upsert(t, s, second, other); n != 0 {
		t.Errorf("a batch of recorded run ids inserted %d, want 0", n)
	}
	if n := upsert(t, s, second, result("new", "c", "l", check.StatusPassed, base, time.Millisecond)); n != 1 {
		t.Errorf("a batch with one new run id inserted %d, want 1", n)
	}
	sameResult(t, "the first recorded wins", get(t, s, "dup"), first)
	page, _, err := s.ListResults(ctx, store.ResultQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := runIDs(page); !slices.Equal(got, []string{"other", "new", "dup"}) {
		t.Errorf("recorded %v, want [other new dup] (one row per run id)", got)
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := latest["c"]["l"].RunID; got != "other" {
		t.Errorf("Latest = %s, want other: the ignored redelivery must not count", got)
	}
	if n, err := s.UpsertResults(ctx, nil); n != 0 || err != nil {
		t.Errorf("UpsertResults(nil) = %d, %v; want 0, nil", n, err)
	}
}

func testUpsertInvalid(t *testing.T, s store.Store) {
	good := result("good", "c", "l", check.StatusPassed, base, time.Second)
	bad := result("bad", "c", "", check.StatusPassed, base, time.Second) // no location
	n, err := s.UpsertResults(ctx, []check.Result{good, bad})
	if !errors.Is(err, store.ErrInvalid) || n != 0 {
		t.Fatalf("UpsertResults with an invalid result = %d, %v; want 0 and ErrInvalid", n, err)
	}
	if !strings.Contains(err.Error(), "results[1]") || !strings.Contains(err.Error(), "location") {
		t.Errorf("error %q does not say which result and what is wrong", err)
	}
	if _, err := s.Result(ctx, "good"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the valid result of a refused batch was written (err %v): all or none", err)
	}
}

func testUpsertConcurrent(t *testing.T, s store.Store) {
	const (
		writers = 6
		perRun  = 120
		batch   = 15
	)
	// Every writer upserts the same run ids (redeliveries racing each
	// other), each in its own order of batches.
	all := make([]check.Result, perRun)
	for i := range all {
		all[i] = result(fmt.Sprintf("run-%03d", i), fmt.Sprintf("check-%d", i%4), []string{"eu", "us"}[i%2],
			check.StatusPassed, base.Add(time.Duration(i)*time.Second), time.Duration(i)*time.Millisecond)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inserted int
		errs     []error
	)
	for w := range writers {
		wg.Go(func() {
			for b := range perRun / batch {
				k := (b + w) % (perRun / batch)
				n, err := s.UpsertResults(ctx, all[k*batch:(k+1)*batch])
				mu.Lock()
				inserted += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent UpsertResults: %v", err)
	}
	if inserted != perRun {
		t.Errorf("concurrent writers inserted %d in total, want %d (each run id once)", inserted, perRun)
	}
	page, _, err := s.ListResults(ctx, store.ResultQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != perRun {
		t.Errorf("ListResults has %d results, want %d", len(page), perRun)
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := perRun - 4; i < perRun; i++ {
		want := all[i]
		if got := latest[want.CheckID][want.Location].RunID; got != want.RunID {
			t.Errorf("Latest %s at %s = %s, want %s", want.CheckID, want.Location, got, want.RunID)
		}
	}
}

// listFixture records 97 results over three checks, two locations and
// every status, many finishing at the same instant, and returns them
// newest first by (FinishedAt, RunID).
func listFixture(t *testing.T, s store.Store) []check.Result {
	t.Helper()
	var all []check.Result
	for i := range 97 {
		fin := base.Add(time.Duration(i/3) * time.Minute) // three at each instant
		all = append(all, result(fmt.Sprintf("run-%02d", (i*37)%97), fmt.Sprintf("check-%d", i%3),
			[]string{"eu-west-1", "us-east-1"}[i%2], check.Statuses()[i%4], fin, time.Duration(i)*time.Millisecond))
	}
	for i := 0; i < len(all); i += 20 {
		upsert(t, s, all[i:min(i+20, len(all))]...)
	}
	slices.SortFunc(all, func(a, b check.Result) int {
		if c := b.FinishedAt.Compare(a.FinishedAt); c != 0 {
			return c
		}
		return strings.Compare(b.RunID, a.RunID)
	})
	return all
}

// listAll pages through q with page size limit and returns every page's
// results in order.
func listAll(t *testing.T, s store.Store, q store.ResultQuery) []check.Result {
	t.Helper()
	var out []check.Result
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatalf("ListResults(%+v) did not end after 200 pages", q)
		}
		page, next, err := s.ListResults(ctx, q)
		if err != nil {
			t.Fatalf("ListResults(%+v): %v", q, err)
		}
		if len(page) > q.Limit && q.Limit > 0 {
			t.Fatalf("ListResults returned %d, over the limit %d", len(page), q.Limit)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		if len(page) == 0 {
			t.Fatalf("ListResults returned an empty page with a next cursor")
		}
		q.Cursor = next
	}
}

func testListPages(t *testing.T, s store.Store) {
	all := listFixture(t, s)
	for _, limit := range []int{1, 7, 10, 96, 97, 98} {
		got := listAll(t, s, store.ResultQuery{Limit: limit})
		if !slices.Equal(runIDs(got), runIDs(all)) {
			t.Errorf("pages of %d:\n got %v\nwant %v", limit, runIDs(got), runIDs(all))
		}
	}
	// A page ending exactly at the last result says there is no next page.
	page, next, err := s.ListResults(ctx, store.ResultQuery{Limit: 97})
	if err != nil || len(page) != 97 || next != "" {
		t.Errorf("ListResults(limit 97 of 97) = %d results, next %q, %v; want 97 and no next", len(page), next, err)
	}
	// Results recorded after a cursor was issued, newer than its page, do
	// not shift the pages that follow.
	first, next, err := s.ListResults(ctx, store.ResultQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	upsert(t, s, result("run-newer", "check-0", "eu-west-1", check.StatusPassed, base.Add(time.Hour), time.Millisecond))
	rest := listAll(t, s, store.ResultQuery{Limit: 10, Cursor: next})
	if got := append(runIDs(first), runIDs(rest)...); !slices.Equal(got, runIDs(all)) {
		t.Errorf("paging across an insert:\n got %v\nwant %v", got, runIDs(all))
	}
}

func testListFilters(t *testing.T, s store.Store) {
	all := listFixture(t, s)
	from, to := base.Add(5*time.Minute), base.Add(20*time.Minute)
	tests := []struct {
		q    store.ResultQuery
		keep func(check.Result) bool
	}{
		{store.ResultQuery{CheckID: "check-1"}, func(r check.Result) bool { return r.CheckID == "check-1" }},
		{store.ResultQuery{Location: "us-east-1"}, func(r check.Result) bool { return r.Location == "us-east-1" }},
		{store.ResultQuery{Status: check.StatusDegraded}, func(r check.Result) bool { return r.Status == check.StatusDegraded }},
		{store.ResultQuery{From: from}, func(r check.Result) bool { return !r.FinishedAt.Before(from) }},
		{store.ResultQuery{To: to}, func(r check.Result) bool { return r.FinishedAt.Before(to) }},
		{store.ResultQuery{CheckID: "check-2", Location: "eu-west-1", Status: check.StatusFailed, From: from, To: to.In(cest)},
			func(r check.Result) bool {
				return r.CheckID == "check-2" && r.Location == "eu-west-1" && r.Status == check.StatusFailed &&
					!r.FinishedAt.Before(from) && r.FinishedAt.Before(to)
			}},
		{store.ResultQuery{CheckID: "no-such-check"}, func(check.Result) bool { return false }},
	}
	for _, tt := range tests {
		want := slices.DeleteFunc(slices.Clone(all), func(r check.Result) bool { return !tt.keep(r) })
		for _, limit := range []int{4, 500} {
			q := tt.q
			q.Limit = limit
			if got := listAll(t, s, q); !slices.Equal(runIDs(got), runIDs(want)) {
				t.Errorf("ListResults(%+v):\n got %v\nwant %v", q, runIDs(got), runIDs(want))
			}
		}
	}
}

func testListLimits(t *testing.T, s store.Store) {
	var rs []check.Result
	for i := range 520 {
		rs = append(rs, result(fmt.Sprintf("run-%03d", i), "c", "l", check.StatusPassed, base.Add(time.Duration(i)*time.Second), time.Millisecond))
	}
	for i := 0; i < len(rs); i += 100 {
		upsert(t, s, rs[i:min(i+100, len(rs))]...)
	}
	for _, tt := range []struct{ limit, want int }{{0, 50}, {1, 1}, {500, 500}, {501, 500}, {10000, 500}} {
		page, next, err := s.ListResults(ctx, store.ResultQuery{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != tt.want || next == "" {
			t.Errorf("ListResults(limit %d) = %d results, next %q; want %d and a next page", tt.limit, len(page), next, tt.want)
		}
	}
}

func testListBadQuery(t *testing.T, s store.Store) {
	upsert(t, s, result("r1", "c", "l", check.StatusPassed, base, time.Second), result("r2", "c", "l", check.StatusPassed, base, time.Second))
	_, next, err := s.ListResults(ctx, store.ResultQuery{Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("ListResults = next %q, %v", next, err)
	}
	for name, q := range map[string]store.ResultQuery{
		"garbage cursor":   {Cursor: "not-a-cursor"},
		"truncated cursor": {Cursor: next[:len(next)/2]},
		"unknown status":   {Status: "ok"},
		"negative limit":   {Limit: -1},
		"to before from":   {From: base, To: base.Add(-time.Second)},
	} {
		if _, _, err := s.ListResults(ctx, q); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListResults with a %s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func testLatest(t *testing.T, s store.Store) {
	latest, err := s.Latest(ctx)
	if err != nil || len(latest) != 0 {
		t.Fatalf("Latest of an empty store = %v, %v; want empty", latest, err)
	}
	newest := result("a-new", "c1", "eu", check.StatusFailed, base.Add(2*time.Minute), time.Second)
	older := result("a-old", "c1", "eu", check.StatusPassed, base.Add(time.Minute), time.Second)
	// Newest recorded first: a late older result must not replace it.
	upsert(t, s, newest)
	upsert(t, s, older, result("b-1", "c1", "us", check.StatusPassed, base, time.Second))
	// Two at the same instant: the larger run id is the newer, as in ListResults.
	upsert(t, s, result("t-1", "c2", "eu", check.StatusPassed, base, time.Second), result("t-2", "c2", "eu", check.StatusDegraded, base, time.Second))
	browser := browserResult()
	upsert(t, s, browser)

	latest, err = s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"c1":            {"eu": "a-new", "us": "b-1"},
		"c2":            {"eu": "t-2"},
		"checkout-flow": {"us-east-1": browser.RunID},
	}
	got := map[string]map[string]string{}
	for id, byLoc := range latest {
		got[id] = map[string]string{}
		for loc, r := range byLoc {
			got[id][loc] = r.RunID
			if r.CheckID != id || r.Location != loc {
				t.Errorf("Latest[%s][%s] is the result of %s at %s", id, loc, r.CheckID, r.Location)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Latest run ids = %v, want %v", got, want)
	}
	sameResult(t, "Latest c1 eu", latest["c1"]["eu"], newest)
	sameResult(t, "Latest browser, without its screenshot", latest["checkout-flow"]["us-east-1"], withoutScreenshot(browser))
}
