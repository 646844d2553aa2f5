package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runGate runs scripts/wait-ready.sh with an `aws` on PATH that prints the
// console outputs given, one per call (the last one again after that).
func runGate(t *testing.T, timeout string, consoles ...string) (out string, calls int, err error) {
	t.Helper()
	dir := t.TempDir()
	for i, c := range consoles {
		if err := os.WriteFile(filepath.Join(dir, "console."+string(rune('0'+i))), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	aws := `#!/bin/bash
# fake aws: ec2 get-console-output --region R --instance-id I --latest --output text --query Output
[ "$1 $2" = "ec2 get-console-output" ] || { echo "unexpected: $*" >&2; exit 2; }
n=$(cat "$FAKE/calls" 2>/dev/null || echo 0)
echo $((n + 1)) >"$FAKE/calls"
f="$FAKE/console.$n"
[ -e "$f" ] || f=$(ls "$FAKE"/console.* | tail -n 1)
cat "$f"
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(aws), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "scripts/wait-ready.sh")
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "FAKE="+dir,
		"INSTANCE_ID=i-0new", "HOST=w-03", "AWS_REGION=eu-west-1", "READY_TIMEOUT="+timeout, "POLL=0", "BOOT_ALLOWANCE=0")
	b, err := cmd.CombinedOutput()
	n, _ := os.ReadFile(filepath.Join(dir, "calls"))
	calls = 0
	for _, c := range strings.TrimSpace(string(n)) {
		calls = calls*10 + int(c-'0')
	}
	return string(b), calls, err
}

const bootNoise = "[    3.141592] cloud-init[812]: Cloud-init v. 22.4.2 running 'modules:final'\n"

// TestReadinessGate: the gate passes once the new instance prints ready,
// fails with the host's reason when it prints failed, ignores verdicts of
// another instance of the same host (the one being replaced) and gives up
// at its timeout saying so.
func TestReadinessGate(t *testing.T) {
	t.Run("ready after a few reads", func(t *testing.T) {
		out, calls, err := runGate(t, "60s", bootNoise, bootNoise,
			bootNoise+"[   95.1] cloud-init[812]: checkfleet-bootstrap: ready host=w-03 instance=i-0new slots=5 image=r/w:v2\n")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if calls != 3 {
			t.Errorf("read the console %d times, want 3 (until the verdict)", calls)
		}
		wantContains(t, out, "host w-03 (i-0new) is ready: ready host=w-03 instance=i-0new slots=5")
	})
	t.Run("failed", func(t *testing.T) {
		out, _, err := runGate(t, "60s", bootNoise+"checkfleet-bootstrap: failed host=w-03 instance=i-0new reason=not ready within 10m: 3 of 5 slots ready\n")
		if err == nil {
			t.Fatalf("exit 0 for a failed host\n%s", out)
		}
		wantContains(t, out, "failed its bootstrap: not ready within 10m: 3 of 5 slots ready")
	})
	t.Run("another instance's verdict", func(t *testing.T) {
		out, _, err := runGate(t, "1s", bootNoise+"checkfleet-bootstrap: ready host=w-03 instance=i-0old slots=5\ncheckfleet-bootstrap: ready host=w-04 instance=i-0new slots=5\n")
		if err == nil {
			t.Fatalf("exit 0 on the verdict of another instance or host\n%s", out)
		}
		wantContains(t, out, "printed no verdict within 1s")
	})
}
