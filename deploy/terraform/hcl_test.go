package terraform_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// module is the parsed .tf files of one directory.
type module struct {
	dir    string
	blocks []*hclsyntax.Block // top-level blocks of every file
}

// moduleDirs are every module and env, relative to deploy/terraform.
var moduleDirs = []string{"modules/queues", "modules/worker_hosts", "modules/control_plane", "envs/example"}

func loadModule(t *testing.T, dir string) *module {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("module %s: no .tf files (%v)", dir, err)
	}
	sort.Strings(files)
	p := hclparse.NewParser()
	m := &module{dir: dir}
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", f, diags.Error())
		}
		m.blocks = append(m.blocks, file.Body.(*hclsyntax.Body).Blocks...)
	}
	return m
}

// resources returns the blocks `KIND "TYPE" "NAME"` of m by name.
func (m *module) resources(kind, typ string) map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for _, b := range m.blocks {
		if b.Type == kind && len(b.Labels) == 2 && b.Labels[0] == typ {
			out[b.Labels[1]] = b
		}
	}
	return out
}

// variable returns the block `variable "NAME"`, or nil.
func (m *module) variable(name string) *hclsyntax.Block {
	for _, b := range m.blocks {
		if b.Type == "variable" && len(b.Labels) == 1 && b.Labels[0] == name {
			return b
		}
	}
	return nil
}

// local returns the expression of local NAME, or nil.
func (m *module) local(name string) hclsyntax.Expression {
	for _, b := range m.blocks {
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes[name]; ok {
				return a.Expr
			}
		}
	}
	return nil
}

// child returns the first nested block of type typ, or nil.
func child(b *hclsyntax.Block, typ string) *hclsyntax.Block {
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			return c
		}
	}
	return nil
}

// literal evaluates an expression that needs no variables (a constant).
func literal(t *testing.T, e hclsyntax.Expression) (cty.Value, bool) {
	t.Helper()
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// attrIs reports whether block b sets attribute name to the constant want.
func attrIs(t *testing.T, b *hclsyntax.Block, name string, want cty.Value) bool {
	t.Helper()
	if b == nil {
		return false
	}
	a, ok := b.Body.Attributes[name]
	if !ok {
		return false
	}
	v, ok := literal(t, a.Expr)
	return ok && v.Type().Equals(want.Type()) && v.Equals(want).True()
}

// refs returns the traversals an expression makes, as dotted strings
// (var.hosts, aws_sqs_queue.jobs_dlq, local.dlqs ...), with locals of m
// followed (one name's expression in place of local.NAME, to any depth).
func (m *module) refs(e hclsyntax.Expression) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(hclsyntax.Expression)
	walk = func(e hclsyntax.Expression) {
		for _, tr := range e.Variables() {
			s := traversalString(tr)
			if seen[s] {
				continue
			}
			seen[s] = true
			out = append(out, s)
			if strings.HasPrefix(s, "local.") {
				if le := m.local(strings.SplitN(s, ".", 3)[1]); le != nil {
					walk(le)
				}
			}
		}
	}
	walk(e)
	return out
}

// traversalString is root.attr[.attr] of a traversal, without indexes.
func traversalString(tr hcl.Traversal) string {
	parts := []string{tr.RootName()}
	for _, step := range tr[1:] {
		if a, ok := step.(hcl.TraverseAttr); ok {
			parts = append(parts, a.Name)
		}
	}
	return strings.Join(parts, ".")
}

// hasRef reports whether any of refs is prefix (or starts with prefix.).
func hasRef(refs []string, prefix string) bool {
	for _, r := range refs {
		if r == prefix || strings.HasPrefix(r, prefix+".") {
			return true
		}
	}
	return false
}

// varDefaults is an evaluation context with var.NAME set to each
// variable's default (variables without one are left out).
func (m *module) varDefaults(t *testing.T) *hcl.EvalContext {
	t.Helper()
	vars := map[string]cty.Value{}
	for _, b := range m.blocks {
		if b.Type != "variable" {
			continue
		}
		if a, ok := b.Body.Attributes["default"]; ok {
			if v, ok := literal(t, a.Expr); ok {
				vars[b.Labels[0]] = v
			}
		}
	}
	return &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
