package web

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
)

// wire reads a served result's document with the wire decoder, which
// accepts only a well-formed checkfleet.result/v2 message.
func wire(t *testing.T, rj resultJSON) check.Result {
	t.Helper()
	r, schema, err := message.DecodeResult(rj.Result)
	if err != nil || schema != message.ResultV2 {
		t.Fatalf("served result is not a %s document (%q, %v):\n%s", message.ResultV2, schema, err, rj.Result)
	}
	return r
}

// field returns the value at path in a served result's document, as
// encoding/json reads it into an any (numbers are float64); nil if absent.
func field(t *testing.T, rj resultJSON, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(rj.Result, &v); err != nil {
		t.Fatalf("document: %v", err)
	}
	for _, name := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}

// served is a result as the API served it.
type served struct {
	resultJSON
	// single says it was GET /api/v1/results/{run_id}, the one response
	// that reads a result whole and so can link its screenshot.
	single bool
}

// servedResults reads every result the API serves over the fixture: the
// latest per location in the check list and a check's detail, every page
// of results, and single results.
func servedResults(t *testing.T, r *rig) []served {
	t.Helper()
	var out []served
	var list struct {
		Checks []checkJSON `json:"checks"`
	}
	decode(t, r.do("GET", "/api/v1/checks"), http.StatusOK, &list)
	var one checkJSON
	decode(t, r.do("GET", "/api/v1/checks/shop"), http.StatusOK, &one)
	for _, c := range append(list.Checks, one) {
		for _, l := range c.Locations {
			if l.LastResult != nil {
				out = append(out, served{resultJSON: *l.LastResult})
			}
		}
	}
	for _, id := range []string{"api-ok", "shop", "search"} {
		var page resultsPageJSON
		decode(t, r.do("GET", "/api/v1/checks/"+id+"/results?limit=500"), http.StatusOK, &page)
		for _, rj := range page.Results {
			out = append(out, served{resultJSON: rj})
		}
	}
	for _, runID := range []string{"api-eu-0", "api-eu-old", "shop-us-1", "shop-eu-1"} {
		var rj resultJSON
		decode(t, r.do("GET", "/api/v1/results/"+runID), http.StatusOK, &rj)
		out = append(out, served{resultJSON: rj, single: true})
	}
	return out
}

// TestAPIResultsAreWireDocuments: wherever the API serves a result, the
// result is its checkfleet.result/v2 document (valid against the published
// schema, no field the schema does not declare, read back whole by the wire
// decoder) and the API's links sit beside it.
func TestAPIResultsAreWireDocuments(t *testing.T) {
	r := newRig(t, nil)
	schema, root := resultSchema(t)
	recorded := map[string]check.Result{}
	for _, res := range fixtureResults() {
		recorded[res.RunID] = res
	}
	seen := map[string]bool{}
	for _, rj := range servedResults(t, r) {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(rj.Result))
		if err != nil {
			t.Fatalf("document: %v", err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("document does not match %s: %v\n%s", message.ResultV2, err, rj.Result)
		}
		for _, path := range undeclared(root, root, inst, "") {
			t.Errorf("document has %s, which %s does not declare (API additions belong beside it)", path, message.ResultV2)
		}

		got := wire(t, rj.resultJSON)
		seen[got.RunID] = true
		want := servedForm(recorded[got.RunID])
		if !reflect.DeepEqual(got, want) {
			t.Errorf("run %s: the document reads back as\n%+v\nwant the recorded result\n%+v", got.RunID, got, want)
		}
		links := resultLinksJSON{Self: "/api/v1/results/" + got.RunID, Check: "/api/v1/checks/" + got.CheckID, Page: "/results/" + got.RunID}
		if shot := recorded[got.RunID].Browser; rj.single && shot != nil && len(shot.Screenshot) > 0 {
			links.Screenshot = "/api/v1/results/" + got.RunID + "/screenshot.jpg"
		}
		if rj.Links != links {
			t.Errorf("run %s (single %t): links %+v, want %+v", got.RunID, rj.single, rj.Links, links)
		}
	}
	if len(seen) != len(recorded) {
		t.Errorf("%d of the %d recorded results served", len(seen), len(recorded))
	}
}

// servedForm is what the API promises to serve of a recorded result: all
// of it but the screenshot (linked instead) and sensitive header values,
// with durations in whole milliseconds as on the wire.
func servedForm(r check.Result) check.Result {
	for _, d := range []*time.Duration{&r.Timings.DNS, &r.Timings.Connect, &r.Timings.TLS, &r.Timings.TTFB, &r.Timings.Download, &r.Timings.Total} {
		*d = d.Round(time.Millisecond)
	}
	if r.HTTP != nil {
		h := *r.HTTP
		h.Headers = slices.Clone(h.Headers)
		for i, hd := range h.Headers {
			if strings.EqualFold(hd.Name, "Set-Cookie") {
				h.Headers[i].Value = "[redacted]"
			}
		}
		r.HTTP = &h
	}
	if r.Browser != nil {
		b := *r.Browser
		b.Screenshot = nil
		r.Browser = &b
	}
	return r
}

// resultSchema compiles the published checkfleet.result/v2 schema,
// asserting formats and content as message's own tests do, and returns it
// with its parsed document.
func resultSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	body, err := fs.ReadFile(message.Schemas(), message.SchemaFileName(message.ResultV2))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	const url = "urn:checkfleet:result-v2"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s, doc.(map[string]any)
}

// undeclared lists the paths in inst of object fields the schema s (within
// root, for its "#/$defs/..." references) does not declare. The published
// schemas allow unknown fields so a version can grow, so validation alone
// would not notice an API field mixed into a document.
func undeclared(root, s map[string]any, inst any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name, _ := strings.CutPrefix(ref, "#/$defs/")
		s, _ = root["$defs"].(map[string]any)[name].(map[string]any)
	}
	var out []string
	switch v := inst.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for name, fv := range v {
			p, ok := props[name].(map[string]any)
			if !ok {
				out = append(out, path+"."+name)
				continue
			}
			out = append(out, undeclared(root, p, fv, path+"."+name)...)
		}
	case []any:
		items, _ := s["items"].(map[string]any)
		for _, e := range v {
			out = append(out, undeclared(root, items, e, path+"[]")...)
		}
	}
	return out
}

// A recorded result the wire encoder refuses (the store would not have
// recorded it) is a 500 that says no more, wherever it would be served.
func TestAPIUnservableResultIs500(t *testing.T) {
	r := newRig(t, nil)
	bad := res("api-ok", "eu-west-1", "api-eu-bad", "exploded", 0, time.Second)
	r.store.results[bad.RunID] = bad
	for _, target := range []string{"/api/v1/results/api-eu-bad", "/api/v1/checks", "/api/v1/checks/api-ok", "/api/v1/checks/api-ok/results"} {
		apiError(t, r.do("GET", target), http.StatusInternalServerError, "could not encode a recorded result")
	}
}
