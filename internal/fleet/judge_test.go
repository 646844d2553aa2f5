package fleet

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

func result(checkID, location, version string, status check.Status, total time.Duration) check.Result {
	return check.Result{
		RunID: fmt.Sprintf("%s-%s-%s-%d", checkID, location, version, total), CheckID: checkID, Location: location,
		Status: status, Timings: check.Timings{Total: total}, Worker: check.WorkerInfo{ID: "w", Version: version},
	}
}

func TestSampleOf(t *testing.T) {
	rs := []check.Result{
		result("c1", "eu", "v1", check.StatusPassed, 100*time.Millisecond),
		result("c1", "eu", "v1", check.StatusError, 400*time.Millisecond),
		result("c2", "eu", "v1", check.StatusFailed, 200*time.Millisecond),
		result("c2", "eu", "v1", check.StatusDegraded, 900*time.Millisecond),
		result("c2", "eu", "v2", check.StatusError, time.Hour),
	}
	got := SampleOf("v1", rs)
	want := Sample{Version: "v1", Runs: 4, Errors: 1, Failures: 1, Median: 300 * time.Millisecond, Mean: 400 * time.Millisecond}
	if got != want {
		t.Errorf("SampleOf(v1) = %+v\nwant %+v", got, want)
	}
	if got.ErrorRate() != 0.25 || got.FailureRate() != 0.25 {
		t.Errorf("rates = %v, %v", got.ErrorRate(), got.FailureRate())
	}
	odd := SampleOf("v1", rs[:3])
	if odd.Median != 200*time.Millisecond {
		t.Errorf("median of three = %v, want 200ms", odd.Median)
	}
	none := SampleOf("v9", rs)
	if none != (Sample{Version: "v9"}) || none.ErrorRate() != 0 {
		t.Errorf("SampleOf a version without results = %+v", none)
	}
}

func TestSamplesComparesOnlyTheSameChecks(t *testing.T) {
	rs := []check.Result{
		result("c1", "eu", "v1", check.StatusPassed, time.Second),
		result("c1", "eu", "v2", check.StatusPassed, time.Second),
		// c2 at eu only on v1, c3 only on v2, c1 at us only on v2: left out.
		result("c2", "eu", "v1", check.StatusError, time.Second),
		result("c3", "eu", "v2", check.StatusError, time.Second),
		result("c1", "us", "v2", check.StatusError, time.Second),
		// Another version is ignored.
		result("c1", "eu", "v0", check.StatusError, time.Second),
	}
	b, c := Samples(rs, "v1", "v2")
	if b.Runs != 1 || b.Errors != 0 || c.Runs != 1 || c.Errors != 0 || b.Version != "v1" || c.Version != "v2" {
		t.Errorf("Samples = %+v, %+v; want one passed run each", b, c)
	}
}

// sample makes a Sample of runs with errors, failures and a median.
func sample(version string, runs, errors, failures int, median time.Duration) Sample {
	return Sample{Version: version, Runs: runs, Errors: errors, Failures: failures, Median: median, Mean: median + 50*time.Millisecond}
}

func TestJudge(t *testing.T) {
	def := DefaultThresholds()
	mean := def
	mean.Duration = Mean
	noDuration := def
	noDuration.DurationRatio = 0
	strict := def
	strict.ErrorRate = 0
	tests := []struct {
		name       string
		baseline   Sample
		candidate  Sample
		t          Thresholds
		want       Judgement
		wantReason string
	}{
		{name: "the same", baseline: sample("v1", 100, 1, 2, 300*time.Millisecond), candidate: sample("v2", 100, 1, 2, 300*time.Millisecond), t: def, want: Pass,
			wantReason: "v2 is no worse than v1: error rate 1.0% (1 of 100 runs) against 1.0% (1 of 100); failure rate 2.0% (2 of 100 runs) against 2.0% (2 of 100); median duration 300ms against 300ms"},
		{name: "every check errors", baseline: sample("v1", 40*3, 0, 0, 300*time.Millisecond), candidate: sample("v2", 60, 60, 0, 5*time.Millisecond), t: def, want: Regressed,
			wantReason: "v2 is worse than v1: error rate 100.0% (60 of 60 runs) against 0.0% (0 of 120), more than 5.0 points up"},
		{name: "too few runs of the candidate", baseline: sample("v1", 100, 0, 0, time.Second), candidate: sample("v2", 49, 49, 0, time.Second), t: def, want: Inconclusive,
			wantReason: "too few runs to judge v2 against v1: 49 and 100, 50 each needed"},
		{name: "too few runs of the baseline", baseline: sample("v1", 10, 0, 0, time.Second), candidate: sample("v2", 100, 100, 0, time.Second), t: def, want: Inconclusive},
		{name: "errors exactly at the threshold", baseline: sample("v1", 100, 5, 0, time.Second), candidate: sample("v2", 100, 10, 0, time.Second), t: def, want: Pass},
		{name: "errors just past the threshold", baseline: sample("v1", 100, 5, 0, time.Second), candidate: sample("v2", 100, 11, 0, time.Second), t: def, want: Regressed},
		{name: "fewer errors is fine", baseline: sample("v1", 100, 50, 0, time.Second), candidate: sample("v2", 100, 0, 0, time.Second), t: def, want: Pass},
		{name: "a strict error rate", baseline: sample("v1", 100, 0, 0, time.Second), candidate: sample("v2", 100, 1, 0, time.Second), t: strict, want: Regressed},
		{name: "failures", baseline: sample("v1", 100, 0, 1, time.Second), candidate: sample("v2", 200, 0, 20, time.Second), t: def, want: Regressed,
			wantReason: "v2 is worse than v1: failure rate 10.0% (20 of 200 runs) against 1.0% (1 of 100), more than 5.0 points up"},
		{name: "slower", baseline: sample("v1", 100, 0, 0, 300*time.Millisecond), candidate: sample("v2", 100, 0, 0, 451*time.Millisecond), t: def, want: Regressed,
			wantReason: "v2 is worse than v1: median duration 451ms against 300ms, more than 1.5 times and 100ms longer"},
		{name: "slower, but by less than the slack", baseline: sample("v1", 100, 0, 0, 20*time.Millisecond), candidate: sample("v2", 100, 0, 0, 100*time.Millisecond), t: def, want: Pass},
		{name: "slower, but under the ratio", baseline: sample("v1", 100, 0, 0, time.Second), candidate: sample("v2", 100, 0, 0, 1400*time.Millisecond), t: def, want: Pass},
		{name: "slower with a baseline of 0", baseline: sample("v1", 100, 0, 0, 0), candidate: sample("v2", 100, 0, 0, time.Second), t: def, want: Regressed},
		{name: "the mean", baseline: Sample{Version: "v1", Runs: 100, Median: time.Second, Mean: time.Second}, candidate: Sample{Version: "v2", Runs: 100, Median: time.Second, Mean: 3 * time.Second}, t: mean, want: Regressed,
			wantReason: "v2 is worse than v1: mean duration 3s against 1s, more than 1.5 times and 100ms longer"},
		{name: "duration left out", baseline: sample("v1", 100, 0, 0, time.Second), candidate: sample("v2", 100, 0, 0, time.Hour), t: noDuration, want: Pass,
			wantReason: "v2 is no worse than v1: error rate 0.0% (0 of 100 runs) against 0.0% (0 of 100); failure rate 0.0% (0 of 100 runs) against 0.0% (0 of 100)"},
		{name: "everything worse", baseline: sample("v1", 100, 0, 0, time.Second), candidate: sample("v2", 100, 10, 10, 2*time.Second), t: def, want: Regressed,
			wantReason: "v2 is worse than v1: error rate 10.0% (10 of 100 runs) against 0.0% (0 of 100), more than 5.0 points up; failure rate 10.0% (10 of 100 runs) against 0.0% (0 of 100), more than 5.0 points up; median duration 2s against 1s, more than 1.5 times and 100ms longer"},
	}
	for _, tt := range tests {
		v := Judge(tt.baseline, tt.candidate, tt.t)
		if v.Judgement != tt.want {
			t.Errorf("%s: Judgement = %s (%s), want %s", tt.name, v.Judgement, v.Reason, tt.want)
		}
		if tt.wantReason != "" && v.Reason != tt.wantReason {
			t.Errorf("%s: Reason\n got %q\nwant %q", tt.name, v.Reason, tt.wantReason)
		}
		if strings.Contains(v.Reason, "\n") || v.Reason == "" {
			t.Errorf("%s: Reason is not one line: %q", tt.name, v.Reason)
		}
		if v.Baseline != tt.baseline || v.Candidate != tt.candidate {
			t.Errorf("%s: the verdict does not carry the samples", tt.name)
		}
	}
}

func TestJudgeFromResults(t *testing.T) {
	// The case: a new version whose checks all report error.
	var rs []check.Result
	for i := range 60 {
		c := fmt.Sprintf("c%d", i%6)
		rs = append(rs, result(c, "eu", "1.4.0", check.StatusPassed, time.Duration(200+i)*time.Millisecond))
		rs = append(rs, result(c, "eu", "1.5.0", check.StatusError, time.Duration(i)*time.Millisecond))
	}
	b, c := Samples(rs, "1.4.0", "1.5.0")
	v := Judge(b, c, DefaultThresholds())
	if v.Judgement != Regressed || !strings.Contains(v.Reason, "error rate 100.0% (60 of 60 runs) against 0.0% (0 of 60)") {
		t.Errorf("Judge = %s: %s", v.Judgement, v.Reason)
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Errorf("DefaultThresholds: %v", err)
	}
	for name, mutate := range map[string]func(*Thresholds){
		"no runs":            func(t *Thresholds) { t.MinRuns = 0 },
		"negative rate":      func(t *Thresholds) { t.ErrorRate = -0.1 },
		"rate above one":     func(t *Thresholds) { t.FailureRate = 1.5 },
		"NaN rate":           func(t *Thresholds) { t.ErrorRate = math.NaN() },
		"unknown duration":   func(t *Thresholds) { t.Duration = "p95" },
		"ratio below one":    func(t *Thresholds) { t.DurationRatio = 0.5 },
		"negative slack":     func(t *Thresholds) { t.DurationSlack = -time.Second },
		"NaN duration ratio": func(t *Thresholds) { t.DurationRatio = math.NaN() },
	} {
		th := DefaultThresholds()
		mutate(&th)
		if err := th.Validate(); err == nil {
			t.Errorf("Validate with %s succeeded", name)
		}
	}
}
