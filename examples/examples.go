// Package examples holds the demo checks, embedded so that `scheduler dev`
// has them wherever it is started.
package examples

import _ "embed"

// Checks is examples/checks.yaml.
//
//go:embed checks.yaml
var Checks []byte
