package storetest

import (
	"bytes"
	"io/fs"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/store"
)

// testResultIsV2Document pins what a store keeps of a result: its
// checkfleet.result/v2 document (see package store). What Result,
// ListResults and Latest return encodes, at message.V2, to the very document
// the result that went in encodes to (screenshots left out where those
// methods leave them out); that document is valid against the published
// JSON Schema and decodes back to what the store returned: nothing the
// document carries is lost or changed on the way through the store.
func testResultIsV2Document(t *testing.T, s store.Store) {
	schema := resultV2Schema(t)
	in := []check.Result{
		apiResult(), browserResult(),
		result("run-min", "minimal", "eu-west-1", check.StatusError, base, 250*time.Millisecond),
	}
	upsert(t, s, in...)

	for _, r := range in {
		got := get(t, s, r.RunID)
		doc := sameDocument(t, "Result("+r.RunID+")", got, utc(r))
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("Result(%s): the document is not JSON: %v", r.RunID, err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("Result(%s): the document is not a valid %s: %v", r.RunID, message.ResultV2, err)
		}
		decoded, id, err := message.DecodeResult(doc)
		if err != nil || id != message.ResultV2 {
			t.Fatalf("Result(%s): DecodeResult = %s, %v; want %s", r.RunID, id, err, message.ResultV2)
		}
		sameResult(t, "Result("+r.RunID+") through its document", decoded, got)
	}

	page, _, err := s.ListResults(ctx, store.ResultQuery{Limit: len(in)})
	if err != nil {
		t.Fatalf("ListResults: %v", err)
	}
	byRunID := map[string]check.Result{}
	for _, r := range in {
		byRunID[r.RunID] = withoutScreenshot(utc(r))
	}
	if len(page) != len(in) {
		t.Fatalf("ListResults = %v, want %d results", runIDs(page), len(in))
	}
	for _, got := range page {
		sameDocument(t, "ListResults "+got.RunID, got, byRunID[got.RunID])
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	for _, r := range in {
		sameDocument(t, "Latest "+r.RunID, latest[r.CheckID][r.Location], byRunID[r.RunID])
	}
}

// sameDocument reports an error unless got and want encode to the same
// checkfleet.result/v2 document, and returns got's.
func sameDocument(t *testing.T, what string, got, want check.Result) []byte {
	t.Helper()
	gotDoc, err := message.EncodeResult(got, message.V2)
	if err != nil {
		t.Fatalf("%s: encode what the store returned: %v", what, err)
	}
	wantDoc, err := message.EncodeResult(want, message.V2)
	if err != nil {
		t.Fatalf("%s: encode what went in: %v", what, err)
	}
	if !bytes.Equal(gotDoc, wantDoc) {
		t.Errorf("%s: the store returned another %s document:\n got %s\nwant %s", what, message.ResultV2, clipDoc(gotDoc), clipDoc(wantDoc))
	}
	return gotDoc
}

// clipDoc shortens a document for a message (a screenshot is 400 KiB of
// base64).
func clipDoc(doc []byte) string {
	const limit = 2000
	if len(doc) > limit {
		return string(doc[:limit]) + "…"
	}
	return string(doc)
}

// resultV2Schema compiles the published JSON Schema of checkfleet.result/v2,
// asserting formats (date-time, uri) and content (base64) as the message
// package's own tests do.
func resultV2Schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	body, err := fs.ReadFile(message.Schemas(), message.SchemaFileName(message.ResultV2))
	if err != nil {
		t.Fatalf("schema of %s: %v", message.ResultV2, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("schema of %s: %v", message.ResultV2, err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	if id == "" {
		t.Fatalf("schema of %s has no $id", message.ResultV2)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatalf("schema of %s: %v", message.ResultV2, err)
	}
	schema, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile the schema of %s: %v", message.ResultV2, err)
	}
	return schema
}
