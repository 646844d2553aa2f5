package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// `scheduler validate` checks alerting with file and line: errors fail it,
// warnings (a secret variable not set here, a window selecting nothing)
// do not unless --strict. Outputs are golden files (-update rewrites them).
func TestValidateAlerting(t *testing.T) {
	for _, tt := range []struct {
		golden string
		args   []string
		code   int
	}{
		{"alerting-warnings", []string{"validate", "testdata/alerting-warnings.yaml"}, 0},
		{"alerting-warnings-strict", []string{"validate", "--strict", "testdata/alerting-warnings.yaml"}, 1},
		{"alerting-errors", []string{"validate", "testdata/alerting-errors.yaml"}, 1},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			cmd := scheduler(t, []string{"CHECKFLEET_SECRET_SLACK_URL=https://hooks.slack.test/T/B/t0k3n"}, tt.args...)
			// Whatever the machine holds, only the variable above is set.
			env := cmd.Env[:0:0]
			for _, kv := range cmd.Env {
				if !strings.HasPrefix(kv, "CHECKFLEET_SECRET_") || strings.HasPrefix(kv, "CHECKFLEET_SECRET_SLACK_URL=") {
					env = append(env, kv)
				}
			}
			cmd.Env = env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if code := exitCode(t, cmd.Run()); code != tt.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.code, out.String())
			}
			golden := "testdata/" + tt.golden + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s\ngot:\n%swant:\n%s", golden, out.String(), want)
			}
			for _, secret := range []string{"XXXXSECRETXXXX", "t0k3n"} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("output shows the credential %q", secret)
				}
			}
		})
	}
}
