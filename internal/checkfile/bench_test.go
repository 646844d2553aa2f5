package checkfile

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse parses a file of 10,000 api checks, the size of a large
// project, to keep reloads cheap.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("defaults:\n  every: 1m\n  locations: [eu-west-1, us-east-1]\nchecks:\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, `  - id: check-%d
    name: Check %d
    type: api
    request:
      url: https://example.com/api/%d
      headers: { Accept: application/json }
    assertions:
      - { source: status_code, comparison: equals, target: 200 }
      - { source: json_body, property: $.ok, comparison: equals, target: true }
`, i, i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		checks, err := Parse("bench.yaml", data)
		if err != nil || len(checks) != 10000 {
			b.Fatalf("%d checks, %v", len(checks), err)
		}
	}
}
