package terraform_test

import (
	"bytes"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

// TestFormatted: every Terraform file is as `terraform fmt` (`tofu fmt`)
// leaves it: both format with hclwrite.Format, as this test does.
func TestFormatted(t *testing.T) {
	var n int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".tf") && !strings.HasSuffix(name, ".tfvars") && !strings.HasSuffix(name, ".tfvars.example") {
			return nil
		}
		n++
		src := readFile(t, path)
		if got := hclwrite.Format(src); !bytes.Equal(got, src) {
			t.Errorf("%s is not formatted (run: terraform fmt -recursive deploy/terraform); first difference at line %d", path, firstDiffLine(src, got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found %d Terraform files, want the modules' and the example's", n)
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// TestTflint runs tflint's bundled Terraform rules (preset "all",
// .tflint.hcl) over every module and env.
func TestTflint(t *testing.T) {
	bin, err := exec.LookPath("tflint")
	testenv.Require(t, err, "go install github.com/terraform-linters/tflint@"+tflintVersion+" (and put $(go env GOPATH)/bin on PATH)")
	abs, err := filepath.Abs(".tflint.hcl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--recursive", "--config", abs, "--format", "compact").CombinedOutput()
	if err != nil {
		t.Fatalf("tflint: %v\n%s", err, out)
	}
}

// tflintVersion is the tflint .ci/run installs.
const tflintVersion = "v0.61.0"
