package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// DecodeJobMessage and DecodeResultMessage parse once what CheckAttribute
// then DecodeJob (DecodeResult) parse twice, and answer the same.
func TestDecodeMessageIsCheckAttributeThenDecode(t *testing.T) {
	job, err := EncodeJob(apiJob(), V2)
	if err != nil {
		t.Fatal(err)
	}
	result, err := EncodeResult(apiResult(), V2)
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(job), JobV2, "checkfleet.job/v99", 1)
	for _, tc := range []struct {
		name, attr, body string
		want             error // nil, ErrMalformed or ErrUnsupportedVersion
	}{
		{"attribute matches", JobV2, string(job), nil},
		{"no attribute", "", string(job), nil},
		{"attribute differs", JobV1, string(job), ErrMalformed},
		{"newer version", "checkfleet.job/v99", newer, ErrUnsupportedVersion},
		{"newer version, attribute differs", JobV2, newer, ErrMalformed},
		{"a result, not a job", ResultV2, string(result), ErrMalformed},
		{"not JSON", "", `{"schema": "checkfleet.job/v2",`, ErrMalformed},
		{"two values", "", string(job) + " {}", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeJobMessage(tc.attr, []byte(tc.body))
			want, wantErr := CheckAttribute(tc.attr, []byte(tc.body)), error(nil)
			if want == nil {
				var j Job
				j, wantErr = DecodeJob([]byte(tc.body))
				if !reflect.DeepEqual(got, j) {
					t.Errorf("job %+v, want %+v", got, j)
				}
			} else {
				wantErr = want
			}
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Errorf("error %v, want %v", err, wantErr)
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	r, schema, err := DecodeResultMessage(ResultV2, result)
	wantR, wantSchema, wantErr := DecodeResult(result)
	if err != nil || wantErr != nil || schema != wantSchema || !reflect.DeepEqual(r, wantR) {
		t.Errorf("DecodeResultMessage = %+v, %q, %v; DecodeResult = %+v, %q, %v", r, schema, err, wantR, wantSchema, wantErr)
	}
	if _, _, err := DecodeResultMessage(JobV2, result); !errors.Is(err, ErrMalformed) {
		t.Errorf("result with a job's attribute: %v, want malformed", err)
	}
}
