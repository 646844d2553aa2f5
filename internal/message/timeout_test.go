package message

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// A job whose check runs longer than its type allows is not sent; one that
// arrives anyway (from a producer with longer bounds) is well-formed and
// decodes, for the worker to answer.
func TestJobTimeoutBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		job     func() Job
		timeout time.Duration
		refused bool
	}{
		{"api at its bound", apiJob, check.MaxAPITimeout, false},
		{"api above its bound", apiJob, check.MaxAPITimeout + time.Second, true},
		{"browser at its bound", browserJob, check.MaxBrowserTimeout, false},
		{"browser above its bound", browserJob, check.MaxBrowserTimeout + time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.job()
			j.Check.Timeout = tc.timeout
			body, err := EncodeJob(j, V2)
			verr, isValidation := errors.AsType[*check.ValidationError](err)
			switch {
			case tc.refused && (!isValidation || verr.Problems[0].Field != "timeout"):
				t.Fatalf("EncodeJob = %v, want a *check.ValidationError on timeout", err)
			case !tc.refused && err != nil:
				t.Fatalf("EncodeJob = %v", err)
			}
			if tc.refused {
				// As a producer with longer bounds would write it.
				j.Check.Timeout = 29*time.Second + 500*time.Millisecond
				j.Check.DegradedAfter = 0
				if body, err = EncodeJob(j, V2); err != nil {
					t.Fatal(err)
				}
				body = bytes.Replace(body, []byte(`"timeout_ms":`+strconv.FormatInt(j.Check.Timeout.Milliseconds(), 10)),
					[]byte(`"timeout_ms":`+strconv.FormatInt(tc.timeout.Milliseconds(), 10)), 1)
			}
			got, err := DecodeJob(body)
			if err != nil || got.Check.Timeout != tc.timeout {
				t.Fatalf("DecodeJob = %v, timeout %v; want it decoded with %v", err, got.Check.Timeout, tc.timeout)
			}
		})
	}
}
