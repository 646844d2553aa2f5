package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

func TestJobRoundTrip(t *testing.T) {
	for _, v := range Supported(KindJob) {
		for name, j := range jobsAt(v) {
			t.Run(v.String()+"/"+name, func(t *testing.T) {
				body, err := EncodeJob(j, v)
				if err != nil {
					t.Fatalf("EncodeJob: %v", err)
				}
				got, err := DecodeJob(body)
				if err != nil {
					t.Fatalf("DecodeJob: %v\n%s", err, body)
				}
				want := j
				want.Schema = SchemaID(KindJob, v)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("round trip changed the job\n got %+v\nwant %+v\nwire %s", got, want, body)
				}
			})
		}
	}
}

func TestJobV1DropsWhatItHasNoFieldFor(t *testing.T) {
	j := legacyJob()
	j.Location, j.Attempt, j.Check.Name = "eu-west-1", 4, "Homepage"
	body, err := EncodeJob(j, V1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeJob(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Location != "" || got.Attempt != 1 || got.Check.Name != "" {
		t.Errorf("v1 decoded location=%q attempt=%d name=%q, want \"\", 1, \"\"", got.Location, got.Attempt, got.Check.Name)
	}
}

func TestResultRoundTripV2(t *testing.T) {
	for name, r := range resultsAt(V2) {
		t.Run(name, func(t *testing.T) {
			body, err := EncodeResult(r, V2)
			if err != nil {
				t.Fatalf("EncodeResult: %v", err)
			}
			got, schema, err := DecodeResult(body)
			if err != nil {
				t.Fatalf("DecodeResult: %v\n%s", err, body)
			}
			if schema != ResultV2 {
				t.Errorf("schema = %q, want %q", schema, ResultV2)
			}
			if !reflect.DeepEqual(got, r) {
				t.Errorf("round trip changed the result\n got %+v\nwant %+v\nwire %s", got, r, body)
			}
		})
	}
}

func TestResultV1(t *testing.T) {
	// What a v1 result keeps of a richer result: ok is passed or degraded.
	v1 := func(r check.Result, status check.Status) check.Result {
		out := check.Result{
			RunID: r.RunID, CheckID: r.CheckID, Attempt: 1, FinishedAt: r.FinishedAt, Status: status,
			Error: r.Error, Timings: check.Timings{Total: r.Timings.Total},
		}
		if r.HTTP != nil {
			out.HTTP = &check.HTTPResult{StatusCode: r.HTTP.StatusCode}
		}
		return out
	}
	tests := map[string]struct{ in, want check.Result }{
		"lossless":         {legacyResult(), legacyResult()},
		"passed is ok":     {apiResult(), v1(apiResult(), check.StatusPassed)},
		"degraded is ok":   {degradedResult(), v1(degradedResult(), check.StatusPassed)},
		"failed is not ok": {browserResult(), v1(browserResult(), check.StatusFailed)},
		"error is not ok":  {errorResult(), v1(errorResult(), check.StatusFailed)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			body, err := EncodeResult(tt.in, V1)
			if err != nil {
				t.Fatalf("EncodeResult: %v", err)
			}
			got, schema, err := DecodeResult(body)
			if err != nil {
				t.Fatalf("DecodeResult: %v\n%s", err, body)
			}
			if schema != ResultV1 {
				t.Errorf("schema = %q, want %q", schema, ResultV1)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("v1 result\n got %+v\nwant %+v\nwire %s", got, tt.want, body)
			}
		})
	}
}

func TestEncodeRoundsDurationsToMilliseconds(t *testing.T) {
	r := apiResult()
	r.Timings.DNS = 2*time.Millisecond + 600*time.Microsecond
	r.Timings.TTFB = 87*time.Millisecond + 400*time.Microsecond
	body, err := EncodeResult(r, V2)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := DecodeResult(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Timings.DNS != 3*time.Millisecond || got.Timings.TTFB != 87*time.Millisecond {
		t.Errorf("dns=%v ttfb=%v, want 3ms 87ms", got.Timings.DNS, got.Timings.TTFB)
	}
	if !strings.Contains(string(body), `"scheduled_at":"2026-03-14T09:26:53.589793238Z"`) {
		t.Errorf("scheduled_at not RFC 3339 UTC with nanoseconds:\n%s", body)
	}
}

func TestEncodeWritesLocalTimesInUTC(t *testing.T) {
	j := legacyJob()
	j.ScheduledAt = time.Date(2026, 3, 14, 10, 26, 53, 0, time.FixedZone("CET", 3600))
	body, err := EncodeJob(j, V1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"scheduled_at":"2026-03-14T09:26:53.000000000Z"`) {
		t.Errorf("scheduled_at not in UTC:\n%s", body)
	}
}

func TestEncodeJobV1Unrepresentable(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Job)
		field string
		says  string
	}{
		{"browser check", func(j *Job) { *j = browserJob(); j.Location = "" }, "check.type", "use checkfleet.job/v2"},
		{"headers", func(j *Job) { j.Check.API.Headers = []check.Header{{Name: "A", Value: "b"}} }, "check.api.headers", "no request headers"},
		{"body", func(j *Job) { j.Check.API.Body = "x" }, "check.api.body", "no request body"},
		{"redirects", func(j *Job) { j.Check.API.FollowRedirects = true }, "check.api.follow_redirects", "do not follow redirects"},
		{"degraded", func(j *Job) { j.Check.DegradedAfter = time.Second }, "check.degraded", "no degraded threshold"},
		{"two assertions", func(j *Job) { j.Check.Assertions = apiJob().Check.Assertions[:2] }, "check.assertions", "at most one assertion"},
		{"other source", func(j *Job) { j.Check.Assertions = apiJob().Check.Assertions[1:2] }, "check.assertions[0]", "response_time less_than"},
		{"other comparison", func(j *Job) { j.Check.Assertions[0].Comparison = check.NotEquals }, "check.assertions[0]", "status_code not_equals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := legacyJob()
			tt.edit(&j)
			_, err := EncodeJob(j, V1)
			if !errors.Is(err, ErrUnrepresentable) {
				t.Fatalf("EncodeJob(v1) = %v, want ErrUnrepresentable", err)
			}
			uerr, ok := errors.AsType[*UnrepresentableError](err)
			if !ok || uerr.Field != tt.field || uerr.Schema != JobV1 {
				t.Fatalf("EncodeJob(v1) = %#v, want field %s", err, tt.field)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "checkfleet.job/v1 cannot carry "+tt.field+": ") || !strings.Contains(msg, tt.says) {
				t.Errorf("message %q does not name %s and say %q", msg, tt.field, tt.says)
			}
			if cerr := JobCarries(V1, j.Check); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("JobCarries(v1) = %v, want what EncodeJob says: %v", cerr, err)
			}
			j.Location = "local"
			if _, err := EncodeJob(j, V2); err != nil {
				t.Errorf("EncodeJob(v2) = %v, want it to carry what v1 cannot", err)
			}
			if err := JobCarries(V2, j.Check); err != nil {
				t.Errorf("JobCarries(v2) = %v, want nil", err)
			}
		})
	}
	if err := JobCarries(V1, legacyJob().Check); err != nil {
		t.Errorf("JobCarries(v1) of a v1-shaped check = %v, want nil", err)
	}
	if err := JobCarries(99, legacyJob().Check); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("JobCarries(99) = %v, want ErrUnsupportedVersion", err)
	}
}

func TestEncodeRefusesWhatDecodeRejects(t *testing.T) {
	jobTests := []struct {
		name    string
		edit    func(*Job)
		version Version
		says    string
	}{
		{"no run id", func(j *Job) { j.RunID = "" }, V2, "run_id: must not be empty"},
		{"no check id", func(j *Job) { j.CheckID, j.Check.ID = "", "" }, V2, `check "": id: is required`},
		{"ids disagree", func(j *Job) { j.Check.ID = "other" }, V2, `check_id "api-login" does not match check.id "other"`},
		{"no scheduled_at", func(j *Job) { j.ScheduledAt = time.Time{} }, V1, "scheduled_at: is required"},
		{"year 10000", func(j *Job) { j.ScheduledAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, V2, "scheduled_at: year out of range"},
		{"no location", func(j *Job) { j.Location = "" }, V2, "location: must not be empty"},
		{"attempt 0", func(j *Job) { j.Attempt = 0 }, V2, "attempt: must be at least 1, got 0"},
		{"invalid check", func(j *Job) { j.Check.API.URL = "ftp://x" }, V2, "api.url: must be an absolute http or https URL"},
	}
	for _, tt := range jobTests {
		t.Run("job/"+tt.name, func(t *testing.T) {
			j := apiJob()
			if tt.version == V1 {
				j = legacyJob()
			}
			tt.edit(&j)
			_, err := EncodeJob(j, tt.version)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("EncodeJob = %v, want an error saying %q", err, tt.says)
			}
		})
	}
	if _, err := EncodeJob(legacyJob(), V2); err == nil {
		t.Error("EncodeJob(v2) of a job without location succeeded")
	}
	j := apiJob()
	j.Check.Timeout = 0
	if _, err := EncodeJob(j, V2); !isValidationError(err) {
		t.Errorf("EncodeJob of an invalid check = %v, want a wrapped *check.ValidationError", err)
	}

	resultTests := []struct {
		name string
		edit func(*check.Result)
		says string
	}{
		{"unknown status", func(r *check.Result) { r.Status = "ok" }, `status: unknown status "ok"`},
		{"error without reason", func(r *check.Result) { r.Status, r.Error = check.StatusError, "" }, "error: is required when status is error"},
		{"no worker", func(r *check.Result) { r.Worker = check.WorkerInfo{} }, "worker.id: must not be empty"},
		{"no started_at", func(r *check.Result) { r.StartedAt = time.Time{} }, "started_at: is required"},
		{"negative timing", func(r *check.Result) { r.Timings.TLS = -1 }, "timings_ms.tls: must not be negative"},
		{"negative body size", func(r *check.Result) { r.HTTP.BodyBytes = -1 }, "http.body_bytes: must not be negative"},
		{"unnamed header", func(r *check.Result) { r.HTTP.Headers[1].Name = "" }, "http.headers[1].name: must not be empty"},
		{"unknown comparison", func(r *check.Result) { r.Assertions[2].Assertion.Comparison = "~" }, `assertions[2].comparison: unknown comparison "~"`},
	}
	for _, tt := range resultTests {
		t.Run("result/"+tt.name, func(t *testing.T) {
			r := apiResult()
			tt.edit(&r)
			_, err := EncodeResult(r, V2)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("EncodeResult = %v, want an error saying %q", err, tt.says)
			}
		})
	}
}

func TestEncodeUnsupportedVersion(t *testing.T) {
	for _, v := range []Version{0, 3} {
		if _, err := EncodeJob(apiJob(), v); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("EncodeJob(%s) = %v, want ErrUnsupportedVersion", v, err)
		}
		if _, err := EncodeResult(apiResult(), v); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("EncodeResult(%s) = %v, want ErrUnsupportedVersion", v, err)
		}
	}
}

func TestEncodeResultTooLarge(t *testing.T) {
	r := browserResult()
	r.Browser.Screenshot = make([]byte, 800<<10) // 800 KiB is ~1.07 MB in base64
	_, err := EncodeResult(r, V2)
	tooLarge, ok := errors.AsType[*TooLargeError](err)
	if !ok || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("EncodeResult = %v, want *TooLargeError", err)
	}
	if tooLarge.Limit != MaxMessageBytes-len("schema")-len("String")-len(ResultV2) || tooLarge.Size <= tooLarge.Limit {
		t.Errorf("TooLargeError = %+v", tooLarge)
	}
	r.Browser.Screenshot = nil // what the worker does next
	if _, err := EncodeResult(r, V2); err != nil {
		t.Errorf("EncodeResult without screenshot = %v", err)
	}

	// A body exactly at the limit passes; one byte more does not.
	r = errorResult()
	body, err := EncodeResult(r, V2)
	if err != nil {
		t.Fatal(err)
	}
	r.Error += strings.Repeat("x", MaxBodyBytes(ResultV2)-len(body))
	if body, err = EncodeResult(r, V2); err != nil || len(body) != MaxBodyBytes(ResultV2) {
		t.Fatalf("EncodeResult at the limit = %d bytes, %v", len(body), err)
	}
	r.Error += "x"
	if _, err := EncodeResult(r, V2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("EncodeResult one byte over = %v, want ErrTooLarge", err)
	}
}

func TestResultVersion(t *testing.T) {
	for schema, want := range map[string]Version{JobV1: V1, JobV2: V2, "": V2, "checkfleet.job/v9": V2} {
		if got := (Job{Schema: schema}).ResultVersion(); got != want {
			t.Errorf("Job{Schema: %q}.ResultVersion() = %s, want %s", schema, got, want)
		}
	}
}

func isValidationError(err error) bool {
	_, ok := errors.AsType[*check.ValidationError](err)
	return ok
}
