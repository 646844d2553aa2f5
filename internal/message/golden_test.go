package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/check"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldens are one encoded message of every version (two for v2: an api and
// a browser check), so that any change to the wire shows up in review.
// Files hold the encoding indented; the test compares it byte for byte.
var goldens = []struct {
	file string
	job  *Job
	res  *check.Result
	v    Version
}{
	{file: "checkfleet.job.v1.json", job: ptr(legacyJob()), v: V1},
	{file: "checkfleet.job.v2.api.json", job: ptr(apiJob()), v: V2},
	{file: "checkfleet.job.v2.browser.json", job: ptr(browserJob()), v: V2},
	{file: "checkfleet.result.v1.json", res: ptr(legacyResult()), v: V1},
	{file: "checkfleet.result.v2.api.json", res: ptr(apiResult()), v: V2},
	{file: "checkfleet.result.v2.browser.json", res: ptr(browserResult()), v: V2},
	{file: "checkfleet.result.v2.altered.json", res: ptr(alteredResult()), v: V2},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			var body []byte
			var err error
			if g.job != nil {
				body, err = EncodeJob(*g.job, g.v)
			} else {
				body, err = EncodeResult(*g.res, g.v)
			}
			if err != nil {
				t.Fatal(err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			path := filepath.Join("testdata", "golden", g.file)
			if *update {
				if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(indented.Bytes(), want) {
				t.Errorf("wire format of %s changed (run go test -update if intended):\n got %s\nwant %s", g.file, indented.Bytes(), want)
			}

			// The golden file is also a decoder fixture: it must read back
			// as the value it was written from.
			if g.job != nil {
				got, err := DecodeJob(want)
				wantJob := *g.job
				wantJob.Schema = SchemaID(KindJob, g.v)
				if err != nil || !reflect.DeepEqual(got, wantJob) {
					t.Errorf("DecodeJob(golden) = %+v, %v\nwant %+v", got, err, wantJob)
				}
				return
			}
			got, _, err := DecodeResult(want)
			if err != nil || !reflect.DeepEqual(got, *g.res) {
				t.Errorf("DecodeResult(golden) = %+v, %v\nwant %+v", got, err, *g.res)
			}
		})
	}
}

func FuzzDecodeJob(f *testing.F) {
	addSeeds(f, "checkfleet.job.")
	f.Fuzz(func(t *testing.T, body []byte) {
		j, err := DecodeJob(body)
		if err != nil {
			classified(t, err)
			return
		}
		_, v, err := ParseSchema(j.Schema)
		if err != nil {
			t.Fatalf("decoded job has schema %q: %v", j.Schema, err)
		}
		again, err := EncodeJob(j, v)
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatalf("decoded job does not encode at %s: %v\ninput %s", v, err, body)
		}
		j2, err := DecodeJob(again)
		if err != nil || !reflect.DeepEqual(j, j2) {
			t.Fatalf("re-encoded job decodes differently: %v\nfirst  %+v\nsecond %+v\ninput %s\nwire  %s", err, j, j2, body, again)
		}
	})
}

func FuzzDecodeResult(f *testing.F) {
	addSeeds(f, "checkfleet.result.")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, schema, err := DecodeResult(body)
		if err != nil {
			classified(t, err)
			return
		}
		_, v, err := ParseSchema(schema)
		if err != nil {
			t.Fatalf("decoded result has schema %q: %v", schema, err)
		}
		again, err := EncodeResult(r, v)
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatalf("decoded result does not encode at %s: %v\ninput %s", v, err, body)
		}
		r2, schema2, err := DecodeResult(again)
		if err != nil || schema2 != schema || !reflect.DeepEqual(r, r2) {
			t.Fatalf("re-encoded result decodes differently: %v\nfirst  %+v\nsecond %+v\ninput %s\nwire  %s", err, r, r2, body, again)
		}
	})
}

// addSeeds seeds a fuzzer with the golden files of one kind, compact and
// indented, and with a few near misses.
func addSeeds(f *testing.F, prefix string) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", prefix+"*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden files %s*: %v", prefix, err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			f.Fatal(err)
		}
		f.Add(compact.Bytes())
		f.Add(compact.Bytes()[:compact.Len()/2])
	}
	kind := strings.TrimSuffix(strings.TrimPrefix(prefix, "checkfleet."), ".")
	f.Add([]byte(`{"schema":"checkfleet.` + kind + `/v3"}`))
	f.Add([]byte(`{"schema":null}`))
	f.Add([]byte(`[]`))
}

// classified fails unless err is one of the two errors a consumer acts on.
func classified(t *testing.T, err error) {
	t.Helper()
	_, malformed := errors.AsType[*MalformedError](err)
	_, unsupported := errors.AsType[*UnsupportedVersionError](err)
	if malformed == unsupported {
		t.Fatalf("decode error is neither malformed nor unsupported: %T %v", err, err)
	}
}

func ptr[T any](v T) *T { return &v }
