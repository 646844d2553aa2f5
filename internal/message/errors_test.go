package message

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// decode runs the decoder of kind k and returns its error.
func decode(k Kind, body []byte) error {
	if k == KindJob {
		_, err := DecodeJob(body)
		return err
	}
	_, _, err := DecodeResult(body)
	return err
}

func TestDecodeRejectsInvalid(t *testing.T) {
	for _, tc := range invalidCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			kind, _, _ := ParseSchema(tc.schema)
			err := decode(kind, tc.body)
			merr, ok := errors.AsType[*MalformedError](err)
			if !ok || !errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("decode = %v, want *MalformedError\n%s", err, tc.body)
			}
			if merr.Path != tc.path || !strings.Contains(merr.Reason, tc.says) {
				t.Errorf("decode = %q (path %q)\nwant path %q saying %q", err, merr.Path, tc.path, tc.says)
			}
			if tc.path != "" && !strings.Contains(err.Error(), tc.path+": ") {
				t.Errorf("message %q does not name the path %s", err, tc.path)
			}
		})
	}
}

func TestDecodeSyntaxErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		offset int64
		says   string
	}{
		{"empty body", ``, 0, "unexpected end of JSON input"},
		{"truncated", `{"schema":"checkfleet.job/v2","run_id":`, 39, "unexpected end of JSON input"},
		{"stray brace", `{"schema":"checkfleet.job/v2",}`, 31, "invalid character '}'"},
		{"trailing garbage", `{"schema":"checkfleet.job/v2"} x`, 32, "after top-level value"},
		{"single quotes", `{'schema':1}`, 2, "invalid character '\\''"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []Kind{KindJob, KindResult} {
				err := decode(k, []byte(tt.body))
				merr, ok := errors.AsType[*MalformedError](err)
				if !ok || merr.Offset != tt.offset || merr.Path != "" {
					t.Fatalf("decode %s = %#v, want *MalformedError at offset %d", k, err, tt.offset)
				}
				want := "malformed message: at byte " + itoa(tt.offset) + ": invalid JSON: "
				if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, tt.says) {
					t.Errorf("message %q, want prefix %q containing %q", msg, want, tt.says)
				}
			}
		})
	}
}

func TestDecodeUnsupportedVersion(t *testing.T) {
	tests := []struct {
		kind Kind
		body string
		want string
	}{
		{KindJob, `{"schema":"checkfleet.job/v3","run_id":"r","check":{"type":"grpc"}}`,
			`unsupported message schema "checkfleet.job/v3" (this build reads checkfleet.job/v1, checkfleet.job/v2)`},
		{KindJob, `{"schema":"checkfleet.job/v12"}`, `"checkfleet.job/v12"`},
		{KindResult, `{"schema":"checkfleet.result/v3","anything":[1,2,3]}`,
			`unsupported message schema "checkfleet.result/v3" (this build reads checkfleet.result/v1, checkfleet.result/v2)`},
	}
	for _, tt := range tests {
		err := decode(tt.kind, []byte(tt.body))
		uerr, ok := errors.AsType[*UnsupportedVersionError](err)
		if !ok || !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrMalformed) {
			t.Errorf("decode %s = %v, want only ErrUnsupportedVersion", tt.body, err)
			continue
		}
		if !strings.HasPrefix(uerr.Schema, "checkfleet."+string(tt.kind)+"/v") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("decode %s = %q, want %q", tt.body, err, tt.want)
		}
	}
	// A newer job that is not even JSON is malformed, not unsupported.
	if err := decode(KindJob, []byte(`{"schema":"checkfleet.job/v3",`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated v3 job = %v, want ErrMalformed", err)
	}
	// A newer version of the other kind is in the wrong queue.
	if err := decode(KindJob, []byte(`{"schema":"checkfleet.result/v3"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("v3 result as job = %v, want ErrMalformed", err)
	}
}

func TestDecodeTolerates(t *testing.T) {
	for _, tt := range validVariants(t) {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kind == KindResult {
				if _, _, err := DecodeResult(tt.body); err != nil {
					t.Fatalf("DecodeResult = %v\n%s", err, tt.body)
				}
				return
			}
			j, err := DecodeJob(tt.body)
			if err != nil {
				t.Fatalf("DecodeJob = %v\n%s", err, tt.body)
			}
			if tt.expect != nil {
				tt.expect(t, j)
			}
		})
	}
}

func TestParseSchema(t *testing.T) {
	good := map[string]struct {
		kind Kind
		v    Version
	}{
		JobV1: {KindJob, V1}, JobV2: {KindJob, V2}, ResultV1: {KindResult, V1}, ResultV2: {KindResult, V2},
		"checkfleet.job/v3": {KindJob, 3}, "checkfleet.result/v42": {KindResult, 42},
	}
	for s, want := range good {
		k, v, err := ParseSchema(s)
		if err != nil || k != want.kind || v != want.v {
			t.Errorf("ParseSchema(%q) = %s, %s, %v; want %s, %s", s, k, v, err, want.kind, want.v)
		}
		if got := SchemaID(k, v); got != s {
			t.Errorf("SchemaID(%s, %s) = %q, want %q", k, v, got, s)
		}
	}
	for _, s := range []string{
		"", "checkfleet", "checkfleet.job", "checkfleet.job/", "checkfleet.job/v", "checkfleet.job/v0",
		"checkfleet.job/v01", "checkfleet.job/v+1", "checkfleet.job/v-1", "checkfleet.job/1", "checkfleet.jobs/v1",
		"checkfleet.Job/v1", "Checkfleet.job/v1", "checkfleet.job/v1 ", "acme.job/v1", "checkfleet.job/v99999999999999999999",
	} {
		if _, _, err := ParseSchema(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSchema(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

func TestVersions(t *testing.T) {
	for _, k := range []Kind{KindJob, KindResult} {
		if Latest(k) != V2 || !reflect.DeepEqual(Supported(k), []Version{V1, V2}) {
			t.Errorf("%s: Latest %s, Supported %v", k, Latest(k), Supported(k))
		}
		if IsSupported(k, 3) || !IsSupported(k, V1) {
			t.Errorf("%s: IsSupported wrong", k)
		}
	}
	if Latest("event") != 0 || Supported("event") != nil {
		t.Error("unknown kind has versions")
	}
}

func TestCheckAttribute(t *testing.T) {
	job := base(t, "job/v2 api")
	tests := []struct {
		name, attr string
		body       []byte
		want       error
		says       string
	}{
		{"matches", JobV2, job, nil, ""},
		{"matches an unsupported version", "checkfleet.job/v3", []byte(`{"schema":"checkfleet.job/v3"}`), nil, ""},
		{"missing: the body decides", "", job, nil, ""},
		{"differs", JobV1, job, ErrMalformed, `SQS message attribute schema="checkfleet.job/v1" does not match the body's schema "checkfleet.job/v2"`},
		{"body not JSON", JobV2, []byte("nope"), ErrMalformed, "invalid JSON"},
		{"body without schema", JobV2, []byte(`{}`), ErrMalformed, "schema: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAttribute(tt.attr, tt.body)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("CheckAttribute = %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.says) {
				t.Errorf("CheckAttribute = %q, want it to say %q", err, tt.says)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
