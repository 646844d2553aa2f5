package fleet

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// epsilon absorbs float rounding when a rate difference is compared with
// its threshold (0.10-0.05 is 0.05000000000000001).
const epsilon = 1e-9

// Sample is what one worker version's runs came to over a window.
type Sample struct {
	// Version is the worker version (check.WorkerInfo.Version).
	Version string
	// Runs counts its results; Errors those with status error (the check
	// could not be run) and Failures those with status failed.
	Runs, Errors, Failures int
	// Median and Mean are of the runs' total durations.
	Median, Mean time.Duration
}

// ErrorRate is Errors/Runs, 0 without runs.
func (s Sample) ErrorRate() float64 { return ratio(s.Errors, s.Runs) }

// FailureRate is Failures/Runs, 0 without runs.
func (s Sample) FailureRate() float64 { return ratio(s.Failures, s.Runs) }

// SampleOf sums up the results of worker version, leaving out the others.
func SampleOf(version string, results []check.Result) Sample {
	s := Sample{Version: version}
	var durations []time.Duration
	for _, r := range results {
		if r.Worker.Version != version {
			continue
		}
		s.Runs++
		switch r.Status {
		case check.StatusError:
			s.Errors++
		case check.StatusFailed:
			s.Failures++
		}
		durations = append(durations, r.Timings.Total)
	}
	if len(durations) == 0 {
		return s
	}
	slices.Sort(durations)
	var sum time.Duration
	for _, d := range durations {
		sum += d
	}
	s.Mean = sum / time.Duration(len(durations))
	mid := len(durations) / 2
	s.Median = durations[mid]
	if len(durations)%2 == 0 {
		s.Median = durations[mid-1] + (durations[mid]-durations[mid-1])/2
	}
	return s
}

// Samples sums up the results of one window (the caller picks it) into the
// baseline's and the candidate's Sample, each over only the checks both
// versions ran at the same location, so a check only one of them ran does
// not tip the scale.
func Samples(results []check.Result, baselineVersion, candidateVersion string) (baseline, candidate Sample) {
	type key struct{ check, location string }
	ran := map[string]map[key]bool{baselineVersion: {}, candidateVersion: {}}
	for _, r := range results {
		if m, ok := ran[r.Worker.Version]; ok {
			m[key{r.CheckID, r.Location}] = true
		}
	}
	both := slices.DeleteFunc(slices.Clone(results), func(r check.Result) bool {
		k := key{r.CheckID, r.Location}
		return !ran[baselineVersion][k] || !ran[candidateVersion][k]
	})
	return SampleOf(baselineVersion, both), SampleOf(candidateVersion, both)
}

// Stat is which duration of a Sample a verdict compares.
type Stat string

// The durations a verdict compares.
const (
	// Median compares the samples' median durations, which a few slow
	// runs do not move.
	Median Stat = "median"
	// Mean compares their mean durations, which every run moves.
	Mean Stat = "mean"
)

// Thresholds are how much worse a candidate may be before it regressed.
type Thresholds struct {
	// MinRuns is the runs each sample needs before it is judged.
	MinRuns int
	// ErrorRate and FailureRate are how far the candidate's rates may
	// exceed the baseline's, in absolute terms: 0.05 allows five points.
	ErrorRate, FailureRate float64
	// Duration is the duration compared: Median or Mean.
	Duration Stat
	// DurationRatio is how many times the baseline's duration the
	// candidate's may be (1.5); 0 leaves duration out.
	DurationRatio float64
	// DurationSlack is how much longer the candidate's duration must also
	// be to count, so a few milliseconds on a fast check do not.
	DurationSlack time.Duration
}

// DefaultThresholds are the thresholds unless configured otherwise: 50 runs
// each; five points more errors or failures; a median 1.5 times and 100 ms
// longer.
func DefaultThresholds() Thresholds {
	return Thresholds{MinRuns: 50, ErrorRate: 0.05, FailureRate: 0.05, Duration: Median, DurationRatio: 1.5, DurationSlack: 100 * time.Millisecond}
}

// Validate checks the thresholds: at least one run, rates from 0 to 1, a
// known duration, a ratio of 0 (off) or at least 1, a slack not negative.
func (t Thresholds) Validate() error {
	switch {
	case t.MinRuns < 1:
		return fmt.Errorf("regression thresholds: minimum runs %d is below 1", t.MinRuns)
	case !(t.ErrorRate >= 0 && t.ErrorRate <= 1):
		return fmt.Errorf("regression thresholds: error rate %v is not between 0 and 1", t.ErrorRate)
	case !(t.FailureRate >= 0 && t.FailureRate <= 1):
		return fmt.Errorf("regression thresholds: failure rate %v is not between 0 and 1", t.FailureRate)
	case t.Duration != Median && t.Duration != Mean:
		return fmt.Errorf("regression thresholds: duration %q is neither median nor mean", t.Duration)
	case t.DurationRatio != 0 && !(t.DurationRatio >= 1):
		return fmt.Errorf("regression thresholds: duration ratio %v is below 1 (0 leaves duration out)", t.DurationRatio)
	case t.DurationSlack < 0:
		return fmt.Errorf("regression thresholds: duration slack %v is negative", t.DurationSlack)
	}
	return nil
}

// Judgement is a verdict's conclusion.
type Judgement string

// The conclusions of a verdict.
const (
	// Pass: the candidate is no worse than the thresholds allow.
	Pass Judgement = "pass"
	// Regressed: the candidate is worse beyond a threshold.
	Regressed Judgement = "regressed"
	// Inconclusive: a sample has fewer runs than the minimum; judge again
	// later.
	Inconclusive Judgement = "inconclusive"
)

// Verdict is Judge's answer, with the numbers it was drawn from.
type Verdict struct {
	// Judgement is the conclusion.
	Judgement Judgement
	// Baseline and Candidate are the samples compared.
	Baseline, Candidate Sample
	// Reason says it in one line, with the numbers: what regressed and by
	// how much, or that nothing did.
	Reason string
}

// Judge compares a candidate worker version's sample with the baseline's,
// taken on the same checks over the same window (Samples): error rate,
// failure rate and duration, each against its threshold, once both have
// t.MinRuns runs.
func Judge(baseline, candidate Sample, t Thresholds) Verdict {
	v := Verdict{Baseline: baseline, Candidate: candidate}
	if baseline.Runs < t.MinRuns || candidate.Runs < t.MinRuns {
		v.Judgement = Inconclusive
		v.Reason = fmt.Sprintf("too few runs to judge %s against %s: %d and %d, %d each needed",
			candidate.Version, baseline.Version, candidate.Runs, baseline.Runs, t.MinRuns)
		return v
	}
	var worse, same []string
	rate := func(what string, c, b float64, cn, bn int, limit float64) {
		s := fmt.Sprintf("%s %s (%d of %d runs) against %s (%d of %d)", what, percent(c), cn, candidate.Runs, percent(b), bn, baseline.Runs)
		if c-b > limit+epsilon {
			worse = append(worse, fmt.Sprintf("%s, more than %.1f points up", s, limit*100))
		} else {
			same = append(same, s)
		}
	}
	rate("error rate", candidate.ErrorRate(), baseline.ErrorRate(), candidate.Errors, baseline.Errors, t.ErrorRate)
	rate("failure rate", candidate.FailureRate(), baseline.FailureRate(), candidate.Failures, baseline.Failures, t.FailureRate)
	if t.DurationRatio > 0 {
		c, b := candidate.Median, baseline.Median
		if t.Duration == Mean {
			c, b = candidate.Mean, baseline.Mean
		}
		s := fmt.Sprintf("%s duration %v against %v", t.Duration, c, b)
		if float64(c) > float64(b)*t.DurationRatio && c-b > t.DurationSlack {
			worse = append(worse, fmt.Sprintf("%s, more than %g times and %v longer", s, t.DurationRatio, t.DurationSlack))
		} else {
			same = append(same, s)
		}
	}
	if len(worse) > 0 {
		v.Judgement = Regressed
		v.Reason = fmt.Sprintf("%s is worse than %s: %s", candidate.Version, baseline.Version, strings.Join(worse, "; "))
		return v
	}
	v.Judgement = Pass
	v.Reason = fmt.Sprintf("%s is no worse than %s: %s", candidate.Version, baseline.Version, strings.Join(same, "; "))
	return v
}

func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func percent(r float64) string { return fmt.Sprintf("%.1f%%", r*100) }
