package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/checkfleet/checkfleet/internal/check"
)

const schemaBaseURL = "https://raw.githubusercontent.com/checkfleet/checkfleet/main/internal/message/schema/"

// compiledSchemas compiles every published schema, asserting formats
// (date-time, uri) and content (base64), keyed by schema id.
func compiledSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	out := map[string]*jsonschema.Schema{}
	for _, k := range []Kind{KindJob, KindResult} {
		for _, v := range Supported(k) {
			id := SchemaID(k, v)
			body, err := fs.ReadFile(Schemas(), SchemaFileName(id))
			if err != nil {
				t.Fatalf("schema file of %s: %v", id, err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", SchemaFileName(id), err)
			}
			url := schemaBaseURL + SchemaFileName(id)
			if err := c.AddResource(url, doc); err != nil {
				t.Fatalf("add %s: %v", url, err)
			}
			if out[id], err = c.Compile(url); err != nil {
				t.Fatalf("compile %s: %v", url, err)
			}
		}
	}
	return out
}

// validate checks body against the schema of id.
func validate(t *testing.T, schemas map[string]*jsonschema.Schema, id string, body []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("instance: %v", err)
	}
	return schemas[id].Validate(inst)
}

func TestSchemaFiles(t *testing.T) {
	var want, got []string
	for _, k := range []Kind{KindJob, KindResult} {
		for _, v := range Supported(k) {
			want = append(want, SchemaFileName(SchemaID(k, v)))
		}
	}
	entries, err := fs.ReadDir(Schemas(), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Schemas() = %v, want %v", got, want)
	}
	for _, name := range got {
		var doc map[string]any
		body, _ := fs.ReadFile(Schemas(), name)
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		id := strings.TrimSuffix(strings.Replace(name, ".v", "/v", 1), ".json")
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != schemaBaseURL+name ||
			doc["title"] != id || doc["description"] == nil {
			t.Errorf("%s: $schema %v, $id %v, title %v, want draft 2020-12, %s, %s and a description",
				name, doc["$schema"], doc["$id"], doc["title"], schemaBaseURL+name, id)
		}
		if c := lookup(doc, "properties", "schema", "const"); c != id {
			t.Errorf("%s: properties.schema.const = %v, want %s", name, c, id)
		}
		describedFields(t, name, "", doc)
	}
}

// describedFields requires a description on every field a document can
// have and forbids additionalProperties: false, which would break the
// additive changes a version allows.
func describedFields(t *testing.T, file, path string, s map[string]any) {
	if ap, ok := s["additionalProperties"]; ok && ap == false {
		t.Errorf("%s: %s forbids unknown fields", file, path)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			p := p.(map[string]any)
			if _, ok := p["description"]; !ok {
				t.Errorf("%s: field %s.%s has no description", file, path, name)
			}
			describedFields(t, file, path+"."+name, p)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		describedFields(t, file, path+"[]", items)
	}
	if defs, ok := s["$defs"].(map[string]any); ok {
		for name, d := range defs {
			describedFields(t, file, "$defs."+name, d.(map[string]any))
		}
	}
}

func TestEncodedMessagesMatchSchema(t *testing.T) {
	schemas := compiledSchemas(t)
	for _, v := range Supported(KindJob) {
		for name, j := range jobsAt(v) {
			body, err := EncodeJob(j, v)
			if err != nil {
				t.Fatalf("job %s %s: %v", v, name, err)
			}
			if err := validate(t, schemas, SchemaID(KindJob, v), body); err != nil {
				t.Errorf("job %s %s does not match its schema: %v\n%s", v, name, err, body)
			}
		}
	}
	for _, v := range Supported(KindResult) {
		results := resultsAt(v)
		if v == V1 {
			results["legacy"] = legacyResult()
		}
		for name, r := range results {
			body, err := EncodeResult(r, v)
			if err != nil {
				t.Fatalf("result %s %s: %v", v, name, err)
			}
			if err := validate(t, schemas, SchemaID(KindResult, v), body); err != nil {
				t.Errorf("result %s %s does not match its schema: %v\n%s", v, name, err, body)
			}
		}
	}
}

// TestEncodersEmitOnlyDeclaredFields: the schemas allow unknown fields (so
// a version can grow), so validation alone would not notice an encoder
// writing a field the schema does not declare.
func TestEncodersEmitOnlyDeclaredFields(t *testing.T) {
	check := func(id string, body []byte) {
		t.Helper()
		var inst any
		if err := json.Unmarshal(body, &inst); err != nil {
			t.Fatal(err)
		}
		root := schemaDoc(t, id)
		for _, path := range undeclared(root, root, inst, "") {
			t.Errorf("%s: encoder writes %s, which the schema does not declare", id, path)
		}
	}
	for _, v := range Supported(KindJob) {
		for _, j := range jobsAt(v) {
			body, _ := EncodeJob(j, v)
			check(SchemaID(KindJob, v), body)
		}
	}
	for _, v := range Supported(KindResult) {
		for _, r := range resultsAt(v) {
			body, _ := EncodeResult(r, v)
			check(SchemaID(KindResult, v), body)
		}
	}
}

// undeclared walks an instance beside its schema (following local $refs)
// and lists the object keys the schema has no property for.
func undeclared(root, schema map[string]any, inst any, path string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		schema = lookup(root, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
	}
	var out []string
	switch inst := inst.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for k, v := range inst {
			sub, ok := props[k].(map[string]any)
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, undeclared(root, sub, v, path+"."+k)...)
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		for i, v := range inst {
			out = append(out, undeclared(root, items, v, path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return out
}

// TestSchemaAgreesWithDecode holds the schemas and the decoders to the same
// hand-written documents: both reject every invalid one (except the few
// semantic rules a schema cannot express, which it must then accept, so the
// list of differences stays explicit) and both accept every valid variant.
func TestSchemaAgreesWithDecode(t *testing.T) {
	schemas := compiledSchemas(t)
	for _, tc := range invalidCases(t) {
		err := validate(t, schemas, tc.schema, tc.body)
		switch {
		case tc.semantic && err != nil:
			t.Errorf("%s: schema rejects a rule marked semantic (move it out of the semantic list): %v", tc.name, err)
		case !tc.semantic && err == nil:
			t.Errorf("%s: decode rejects (%s: %s) but schema %s accepts\n%s", tc.name, tc.path, tc.says, tc.schema, tc.body)
		case !tc.semantic:
			want := tc.path
			if tc.schemaPath != "" {
				want = tc.schemaPath
			}
			if paths := schemaErrorPaths(err); !slices.Contains(paths, want) {
				t.Errorf("%s: decode reports %q, schema reports %q", tc.name, want, paths)
			}
		}
	}
	for _, tv := range validVariants(t) {
		var m struct{ Schema string }
		_ = json.Unmarshal(tv.body, &m)
		if err := validate(t, schemas, m.Schema, tv.body); err != nil {
			t.Errorf("%s: decode accepts but schema rejects: %v\n%s", tv.name, err, tv.body)
		}
	}
}

// TestSchemaEnumsMatchGo keeps the schemas' enums equal to the constants
// the code checks.
func TestSchemaEnumsMatchGo(t *testing.T) {
	job := schemaDoc(t, JobV2)
	result := schemaDoc(t, ResultV2)
	strs := func(xs any) []string {
		var out []string
		for _, x := range xs.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	tests := []struct {
		name string
		got  any
		want []string
	}{
		{"job/v1 method", lookup(schemaDoc(t, JobV1), "properties", "method", "enum"), check.Methods()},
		{"check type", lookup(job, "$defs", "check", "properties", "type", "enum"), names(check.Types())},
		{"api method", lookup(job, "$defs", "api", "properties", "method", "enum"), check.Methods()},
		{"step action", lookup(job, "$defs", "step", "properties", "action", "enum"), names(check.Actions())},
		{"step matcher", lookup(job, "$defs", "step", "properties", "matcher", "enum"), names(check.Matchers())},
		{"assertion source", lookup(job, "$defs", "assertion", "properties", "source", "enum"), names(check.Sources())},
		{"assertion comparison", lookup(job, "$defs", "assertion", "properties", "comparison", "enum"), names(check.Comparisons())},
		{"result status", lookup(result, "properties", "status", "enum"), names(check.Statuses())},
		{"result assertion source", lookup(result, "$defs", "assertion_result", "properties", "source", "enum"), names(check.Sources())},
		{"result assertion comparison", lookup(result, "$defs", "assertion_result", "properties", "comparison", "enum"), names(check.Comparisons())},
		{"result step action", lookup(result, "$defs", "browser", "properties", "steps", "items", "properties", "action", "enum"), names(check.Actions())},
	}
	for _, tt := range tests {
		if tt.got == nil || !slices.Equal(strs(tt.got), tt.want) {
			t.Errorf("%s: schema enum %v, Go %v", tt.name, tt.got, tt.want)
		}
	}

	// The comparisons each source allows, from the if/then rules.
	allowed := map[string][]string{}
	for _, rule := range lookup(job, "$defs", "assertion", "allOf").([]any) {
		src, _ := lookup(rule, "if", "properties", "source", "const").(string)
		if src == "" {
			continue
		}
		allowed[src] = names(check.Comparisons())
		if e := lookup(rule, "then", "properties", "comparison", "enum"); e != nil {
			allowed[src] = strs(e)
		}
	}
	for _, s := range check.Sources() {
		if got, want := allowed[string(s)], names(s.Comparisons()); !slices.Equal(got, want) {
			t.Errorf("source %s: schema allows %v, Go %v", s, got, want)
		}
	}
}

// schemaErrorPaths lists where a schema validation error points, as
// decoder paths: "check.assertions[0].target"; a missing property is
// reported at the property.
func schemaErrorPaths(err error) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		var b strings.Builder
		for _, seg := range e.InstanceLocation {
			if _, err := strconv.Atoi(seg); err == nil {
				b.WriteString("[" + seg + "]")
			} else {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(seg)
			}
		}
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range req.Missing {
				out = append(out, strings.TrimPrefix(b.String()+"."+m, "."))
			}
			return
		}
		out = append(out, b.String())
	}
	if verr, ok := errors.AsType[*jsonschema.ValidationError](err); ok {
		walk(verr)
	}
	return out
}

func schemaDoc(t *testing.T, id string) map[string]any {
	t.Helper()
	body, err := fs.ReadFile(Schemas(), SchemaFileName(id))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// lookup walks nested objects by key; nil if any key is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func names[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}
