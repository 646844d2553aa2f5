// Schema ids and versions: what a message says it is ("checkfleet.result/v2"),
// which versions this build speaks, and how an id is parsed.

package message

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SchemaAttribute is the name of the SQS message attribute (DataType String)
// that repeats the body's "schema" field, so a consumer can route or return a
// message without reading its body.
const SchemaAttribute = "schema"

// The schema ids of every version this build knows.
const (
	// JobV1 is the legacy job: one api check with an expected status code.
	JobV1 = "checkfleet.job/v1"
	// JobV2 is the job carrying a full check definition.
	JobV2 = "checkfleet.job/v2"
	// ResultV1 is the legacy result: ok, status code, duration.
	ResultV1 = "checkfleet.result/v1"
	// ResultV2 is the full result: status, timings, assertions, browser steps.
	ResultV2 = "checkfleet.result/v2"
)

// Kind is what a message is: a job or a result.
type Kind string

// The message kinds.
const (
	KindJob    Kind = "job"
	KindResult Kind = "result"
)

// Version is a schema version number within a Kind, counting from 1.
type Version int

// The versions this build knows.
const (
	V1 Version = 1
	V2 Version = 2
)

// String renders the version as it appears in a schema id: "v2".
func (v Version) String() string { return "v" + strconv.Itoa(int(v)) }

// Latest returns the newest version of kind k this build can write, or 0
// for an unknown kind.
func Latest(k Kind) Version {
	if s := Supported(k); len(s) > 0 {
		return s[len(s)-1]
	}
	return 0
}

// Supported lists, oldest first, the versions of kind k this build can
// decode and encode; nil for an unknown kind.
func Supported(k Kind) []Version {
	switch k {
	case KindJob, KindResult:
		return []Version{V1, V2}
	}
	return nil
}

// IsSupported reports whether this build can decode and encode version v of
// kind k.
func IsSupported(k Kind, v Version) bool { return slices.Contains(Supported(k), v) }

// SchemaID returns the schema id of version v of kind k:
// SchemaID(KindJob, V2) == "checkfleet.job/v2". It does not check that the
// version is supported.
func SchemaID(k Kind, v Version) string {
	return "checkfleet." + string(k) + "/" + v.String()
}

// ParseSchema splits a schema id such as "checkfleet.result/v2" into its
// kind and version. It accepts any version number, supported or not, so a
// caller can tell a newer message (IsSupported false) from garbage: an id
// not of the form checkfleet.(job|result)/v<N>, N ≥ 1 without leading zeros,
// returns a *MalformedError.
func ParseSchema(s string) (Kind, Version, error) {
	bad := func(why string) (Kind, Version, error) {
		return "", 0, &MalformedError{Path: "schema", Offset: -1,
			Reason: fmt.Sprintf("%q is not a checkfleet schema id (%s)", s, why)}
	}
	rest, ok := strings.CutPrefix(s, "checkfleet.")
	if !ok {
		return bad("want checkfleet.job/vN or checkfleet.result/vN")
	}
	kind, num, ok := strings.Cut(rest, "/v")
	if !ok {
		return bad("want checkfleet.job/vN or checkfleet.result/vN")
	}
	if Kind(kind) != KindJob && Kind(kind) != KindResult {
		return bad(fmt.Sprintf("unknown kind %q, want job or result", kind))
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || num[0] == '0' || strings.ContainsAny(num, "+-") {
		return bad(fmt.Sprintf("version %q is not a number from 1", num))
	}
	return Kind(kind), Version(n), nil
}

// SchemaFileName returns the name of the JSON Schema file of a schema id in
// Schemas(): "checkfleet.job/v1" → "checkfleet.job.v1.json".
func SchemaFileName(schema string) string {
	return strings.ReplaceAll(schema, "/", ".") + ".json"
}
