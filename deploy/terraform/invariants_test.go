package terraform_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/checkfleet/checkfleet/internal/check"
)

// resultSettle is what the queues' visibility floor allows past the
// longest check and its run grace: the result's send and the job's delete,
// each bounded by the worker's 10 s settle timeout (internal/worker).
const resultSettle = 20 * time.Second

// TestHostsAreReplacedBeforeTheyAreDestroyed: every host resource (worker
// hosts, scheduler hosts) and the launch template it comes from is
// create_before_destroy, so a replacement starts (and passes its gate)
// before the host it replaces goes.
func TestHostsAreReplacedBeforeTheyAreDestroyed(t *testing.T) {
	for _, dir := range []string{"modules/worker_hosts", "modules/control_plane"} {
		m := loadModule(t, dir)
		instances := m.resources("resource", "aws_instance")
		if len(instances) == 0 {
			t.Errorf("%s: no aws_instance", dir)
		}
		templates := m.resources("resource", "aws_launch_template")
		for name, b := range instances {
			if !attrIs(t, child(b, "lifecycle"), "create_before_destroy", cty.True) {
				t.Errorf("%s: aws_instance.%s: want lifecycle { create_before_destroy = true }", dir, name)
			}
			if lt := child(b, "launch_template"); lt != nil {
				for _, r := range m.refs(lt.Body.Attributes["id"].Expr) {
					ltName, ok := strings.CutPrefix(r, "aws_launch_template.")
					if !ok {
						continue
					}
					ltName = strings.SplitN(ltName, ".", 2)[0]
					if tb, ok := templates[ltName]; !ok || !attrIs(t, child(tb, "lifecycle"), "create_before_destroy", cty.True) {
						t.Errorf("%s: aws_launch_template.%s (of aws_instance.%s): want lifecycle { create_before_destroy = true }", dir, ltName, name)
					}
				}
			}
		}
		for name, b := range templates {
			if !attrIs(t, child(b, "lifecycle"), "create_before_destroy", cty.True) {
				t.Errorf("%s: aws_launch_template.%s: want lifecycle { create_before_destroy = true }", dir, name)
			}
		}
	}
}

// TestWorkerHostsAreOneResourceEach: one aws_instance per host name
// (for_each over var.hosts, not count), from a launch template, so one
// host can be replaced alone with -replace='...host["w-03"]'.
func TestWorkerHostsAreOneResourceEach(t *testing.T) {
	m := loadModule(t, "modules/worker_hosts")
	instances := m.resources("resource", "aws_instance")
	if len(instances) != 1 {
		t.Fatalf("worker_hosts: want exactly one aws_instance resource (one instance per host through for_each), got %d", len(instances))
	}
	for name, b := range instances {
		if _, ok := b.Body.Attributes["count"]; ok {
			t.Errorf("aws_instance.%s: count: want for_each over var.hosts (count renumbers hosts when one goes)", name)
		}
		fe, ok := b.Body.Attributes["for_each"]
		if !ok || !slices.Equal(m.refs(fe.Expr), []string{"var.hosts"}) {
			t.Errorf("aws_instance.%s: want for_each = var.hosts", name)
		}
		if lt := child(b, "launch_template"); lt == nil || !hasRef(m.refs(lt.Body.Attributes["id"].Expr), "aws_launch_template") {
			t.Errorf("aws_instance.%s: want a launch_template block naming an aws_launch_template", name)
		}
	}
	if v := m.variable("hosts"); v == nil || !strings.Contains(attrSource(t, v, "type"), "set(string)") {
		t.Errorf("variable hosts: want type set(string) (host names)")
	}
}

// TestNewHostsAreGatedOnReadiness: every host resource has a readiness
// gate (a terraform_data per instance, create_before_destroy, running the
// wait-ready script), so apply returns only once the new host is ready and
// the host it replaces is destroyed after that.
func TestNewHostsAreGatedOnReadiness(t *testing.T) {
	for _, dir := range []string{"modules/worker_hosts", "modules/control_plane"} {
		m := loadModule(t, dir)
		gates := m.resources("resource", "terraform_data")
		for name := range m.resources("resource", "aws_instance") {
			var gated bool
			for gname, g := range gates {
				fe, ok := g.Body.Attributes["for_each"]
				if !ok || !hasRef(m.refs(fe.Expr), "aws_instance."+name) {
					continue
				}
				gated = true
				if !attrIs(t, child(g, "lifecycle"), "create_before_destroy", cty.True) {
					t.Errorf("%s: terraform_data.%s: want create_before_destroy, so the old gate (and host) goes after the new one passed", dir, gname)
				}
				p := child(g, "provisioner")
				if p == nil || p.Labels[0] != "local-exec" {
					t.Errorf("%s: terraform_data.%s: want a local-exec provisioner", dir, gname)
					continue
				}
				cmd := attrSource(t, p, "command")
				if !strings.Contains(cmd, "scripts/wait-ready.sh") {
					t.Errorf("%s: terraform_data.%s: command %s: want the wait-ready script", dir, gname, cmd)
				}
				script := filepath.Join(dir, strings.Trim(strings.TrimPrefix(strings.Trim(cmd, `"`), "${path.module}"), "/"))
				if _, err := os.Stat(script); err != nil {
					t.Errorf("%s: terraform_data.%s: %v", dir, gname, err)
				}
			}
			if !gated {
				t.Errorf("%s: aws_instance.%s has no readiness gate (a terraform_data with for_each over it)", dir, name)
			}
		}
	}
}

// TestInstancesRequireIMDSv2WithOneHop: every launch template and
// instance requires IMDSv2 tokens with a hop limit of 1.
func TestInstancesRequireIMDSv2WithOneHop(t *testing.T) {
	var seen int
	for _, dir := range moduleDirs {
		m := loadModule(t, dir)
		for _, typ := range []string{"aws_launch_template", "aws_instance"} {
			for name, b := range m.resources("resource", typ) {
				seen++
				md := child(b, "metadata_options")
				if !attrIs(t, md, "http_tokens", cty.StringVal("required")) {
					t.Errorf("%s: %s.%s: want metadata_options { http_tokens = \"required\" } (IMDSv2 only)", dir, typ, name)
				}
				if !attrIs(t, md, "http_put_response_hop_limit", cty.NumberIntVal(1)) {
					t.Errorf("%s: %s.%s: want metadata_options { http_put_response_hop_limit = 1 }", dir, typ, name)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no launch template or instance found")
	}
}

// TestEveryQueueHasARedrivePolicy: every jobs and results queue moves
// poison to a dead-letter queue after maxReceiveCount receives, and every
// queue is encrypted at rest.
func TestEveryQueueHasARedrivePolicy(t *testing.T) {
	m := loadModule(t, "modules/queues")
	queues := m.resources("resource", "aws_sqs_queue")
	for _, want := range []string{"jobs", "results"} {
		if _, ok := queues[want]; !ok {
			t.Errorf("queues: no aws_sqs_queue.%s", want)
		}
	}
	for name, b := range queues {
		// SSE-SQS, or a KMS key that is always set.
		_, sse := b.Body.Attributes["sqs_managed_sse_enabled"]
		kms, hasKMS := b.Body.Attributes["kms_master_key_id"]
		if hasKMS {
			v, ok := literal(t, kms.Expr)
			hasKMS = ok && !v.IsNull()
		}
		if !sse && !hasKMS {
			t.Errorf("aws_sqs_queue.%s: not encrypted: want sqs_managed_sse_enabled (with kms_master_key_id when a key may be given)", name)
		}
		if isDLQ(name) {
			continue
		}
		a, ok := b.Body.Attributes["redrive_policy"]
		if !ok {
			t.Errorf("aws_sqs_queue.%s: no redrive_policy", name)
			continue
		}
		keys := jsonencodeKeys(a.Expr)
		if !slices.Contains(keys, "deadLetterTargetArn") || !slices.Contains(keys, "maxReceiveCount") {
			t.Errorf("aws_sqs_queue.%s: redrive_policy: want jsonencode({deadLetterTargetArn, maxReceiveCount}), has keys %v", name, keys)
		}
		var toDLQ bool
		for _, r := range m.refs(a.Expr) {
			if q, ok := strings.CutPrefix(r, "aws_sqs_queue."); ok && isDLQ(strings.SplitN(q, ".", 2)[0]) {
				toDLQ = true
			}
		}
		if !toDLQ {
			t.Errorf("aws_sqs_queue.%s: redrive_policy names no dead-letter queue (an aws_sqs_queue named *dlq)", name)
		}
	}
}

// TestEveryDLQHasAnAlarm: any message in any dead-letter queue raises an
// alarm (a DLQ is for poison only), and the jobs queues alarm on the age
// of their oldest job and on their depth.
func TestEveryDLQHasAnAlarm(t *testing.T) {
	m := loadModule(t, "modules/queues")
	alarms := m.resources("resource", "aws_cloudwatch_metric_alarm")
	covers := func(queue, metric string, pred func(*hclsyntax.Block) bool) bool {
		for _, a := range alarms {
			if !attrIs(t, a, "metric_name", cty.StringVal(metric)) || !attrIs(t, a, "namespace", cty.StringVal("AWS/SQS")) || !pred(a) {
				continue
			}
			var refs []string
			for _, attr := range []string{"for_each", "dimensions"} {
				if x, ok := a.Body.Attributes[attr]; ok {
					refs = append(refs, m.refs(x.Expr)...)
				}
			}
			if hasRef(refs, "aws_sqs_queue."+queue) {
				return true
			}
		}
		return false
	}
	anyMessage := func(a *hclsyntax.Block) bool {
		return attrIs(t, a, "threshold", cty.NumberIntVal(0)) && attrIs(t, a, "comparison_operator", cty.StringVal("GreaterThanThreshold"))
	}
	any := func(*hclsyntax.Block) bool { return true }
	var dlqs int
	for name := range m.resources("resource", "aws_sqs_queue") {
		if !isDLQ(name) {
			continue
		}
		dlqs++
		if !covers(name, "ApproximateNumberOfMessagesVisible", anyMessage) {
			t.Errorf("aws_sqs_queue.%s: no alarm on its first message (ApproximateNumberOfMessagesVisible > 0, its QueueName in the dimensions)", name)
		}
	}
	if dlqs < 2 {
		t.Errorf("queues: want a DLQ for the jobs and one for the results, found %d", dlqs)
	}
	if !covers("jobs", "ApproximateAgeOfOldestMessage", any) {
		t.Error("aws_sqs_queue.jobs: no alarm on ApproximateAgeOfOldestMessage")
	}
	if !covers("jobs", "ApproximateNumberOfMessagesVisible", any) {
		t.Error("aws_sqs_queue.jobs: no alarm on its depth (ApproximateNumberOfMessagesVisible)")
	}
}

// TestJobsVisibilityOutlastsTheLongestCheck: the jobs queues' visibility
// timeout is above the longest check a worker runs (check.MaxTimeout) plus
// its run grace and the time to send its result and delete the job, by
// default and by the variable's validation; it fails when either side
// changes (a longer check in Go, or a shorter timeout in Terraform).
func TestJobsVisibilityOutlastsTheLongestCheck(t *testing.T) {
	need := int64((check.MaxTimeout + check.RunGrace + resultSettle) / time.Second)
	m := loadModule(t, "modules/queues")
	jobs := m.resources("resource", "aws_sqs_queue")["jobs"]
	if jobs == nil {
		t.Fatal("no aws_sqs_queue.jobs")
	}
	a, ok := jobs.Body.Attributes["visibility_timeout_seconds"]
	if !ok {
		t.Fatal("aws_sqs_queue.jobs: no visibility_timeout_seconds (SQS's default, 30 s, is shorter than a browser check)")
	}
	v, diags := a.Expr.Value(m.varDefaults(t))
	if diags.HasErrors() {
		t.Fatalf("aws_sqs_queue.jobs: visibility_timeout_seconds: %s", diags.Error())
	}
	got, _ := v.AsBigFloat().Int64()
	if got < need {
		t.Errorf("aws_sqs_queue.jobs: visibility timeout %d s, want at least %d s (longest check %v + run grace %v + %v to send the result and delete the job)",
			got, need, check.MaxTimeout, check.RunGrace, resultSettle)
	}
	// The variable refuses less than need, and no more than need.
	for _, ref := range m.refs(a.Expr) {
		name, ok := strings.CutPrefix(ref, "var.")
		if !ok {
			continue
		}
		vb := m.variable(name)
		val := child(vb, "validation")
		if val == nil {
			t.Errorf("variable %s: no validation: want it to refuse less than %d s", name, need)
			continue
		}
		accepts := func(n int64) bool {
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: cty.NumberIntVal(n)})}}
			ok, diags := val.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("variable %s: validation: %s", name, diags.Error())
			}
			return ok.True()
		}
		if accepts(need - 1) {
			t.Errorf("variable %s: validation accepts %d s, below the longest check + grace + settle (%d s)", name, need-1, need)
		}
		if !accepts(need) {
			t.Errorf("variable %s: validation refuses %d s, the longest check + grace + settle: the floor is not the worker's", name, need)
		}
	}
	// No env sets it lower.
	env := loadModule(t, "envs/example")
	for _, b := range env.blocks {
		if b.Type != "module" {
			continue
		}
		if x, ok := b.Body.Attributes["visibility_timeout_seconds"]; ok {
			if v, ok := literal(t, x.Expr); !ok || v.LessThan(cty.NumberIntVal(need)).True() {
				t.Errorf("envs/example: module %s: visibility_timeout_seconds below %d s", b.Labels[0], need)
			}
		}
	}
}

// TestIAMIsLeastPrivilege: no IAM statement grants a "*" action (or a
// service wildcard like sqs:*), the one "*" resource is
// ecr:GetAuthorizationToken's (AWS defines it on no resource), queue
// actions name queue ARNs and image pulls the repository's, and no
// managed or inline policy bypasses the policy documents.
func TestIAMIsLeastPrivilege(t *testing.T) {
	var statements int
	for _, dir := range moduleDirs {
		m := loadModule(t, dir)
		for _, typ := range []string{"aws_iam_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment"} {
			for name := range m.resources("resource", typ) {
				t.Errorf("%s: %s.%s: want inline policies from aws_iam_policy_document only (checked here)", dir, typ, name)
			}
		}
		for name, b := range m.resources("resource", "aws_iam_role") {
			if _, ok := b.Body.Attributes["managed_policy_arns"]; ok {
				t.Errorf("%s: aws_iam_role.%s: managed_policy_arns: want inline policies from aws_iam_policy_document only", dir, name)
			}
		}
		for name, b := range m.resources("resource", "aws_iam_role_policy") {
			if p, ok := b.Body.Attributes["policy"]; !ok || !hasRef(m.refs(p.Expr), "data.aws_iam_policy_document") {
				t.Errorf("%s: aws_iam_role_policy.%s: want policy = data.aws_iam_policy_document.X.json", dir, name)
			}
		}
		for doc, b := range m.resources("data", "aws_iam_policy_document") {
			for _, st := range policyStatements(b) {
				statements++
				where := fmt.Sprintf("%s: data.aws_iam_policy_document.%s statement %s", dir, doc, attrSource(t, st, "sid"))
				checkStatement(t, m, where, st)
			}
		}
	}
	if statements == 0 {
		t.Fatal("no IAM policy statement found")
	}
}

func checkStatement(t *testing.T, m *module, where string, st *hclsyntax.Block) {
	t.Helper()
	if attrIs(t, st, "effect", cty.StringVal("Deny")) {
		return
	}
	if _, ok := st.Body.Attributes["not_actions"]; ok {
		t.Errorf("%s: not_actions grants everything else", where)
	}
	if _, ok := st.Body.Attributes["not_resources"]; ok {
		t.Errorf("%s: not_resources grants everything else", where)
	}
	a, ok := st.Body.Attributes["actions"]
	if !ok {
		t.Errorf("%s: no actions", where)
		return
	}
	actions, ok := stringList(t, a.Expr)
	if !ok {
		t.Errorf("%s: actions: want a literal list (so it can be checked)", where)
		return
	}
	for _, act := range actions {
		if strings.Contains(act, "*") {
			t.Errorf("%s: action %q: no wildcard actions", where, act)
		}
	}
	if principals := child(st, "principals"); principals != nil {
		return // a trust policy: its resource is the role itself
	}
	r, ok := st.Body.Attributes["resources"]
	if !ok {
		t.Errorf("%s: no resources", where)
		return
	}
	resources, literalResources := stringList(t, r.Expr)
	wildcard := false
	for _, res := range resources {
		if strings.Contains(res, "*") {
			wildcard = true
		}
	}
	if wildcard && !(len(actions) == 1 && actions[0] == "ecr:GetAuthorizationToken") {
		t.Errorf("%s: resources %v: a wildcard resource is allowed for ecr:GetAuthorizationToken alone, in a statement of its own (actions %v)", where, resources, actions)
	}
	refs := m.refs(r.Expr)
	for _, act := range actions {
		switch {
		case strings.HasPrefix(act, "sqs:"):
			if literalResources || !slices.ContainsFunc(refs, func(s string) bool { return strings.Contains(s, "queue_arn") }) {
				t.Errorf("%s: %s: want its resources to be the queue ARNs (var.*queue_arn*), got %s", where, act, attrSource(t, st, "resources"))
			}
		case act == "ecr:BatchGetImage" || act == "ecr:GetDownloadUrlForLayer":
			if literalResources || !slices.ContainsFunc(refs, func(s string) bool { return strings.Contains(s, "repository_arn") }) {
				t.Errorf("%s: %s: want its resources to be the repository ARN, got %s", where, act, attrSource(t, st, "resources"))
			}
		}
	}
}

// policyStatements returns a policy document's statement blocks, the
// contents of its dynamic "statement" blocks included.
func policyStatements(doc *hclsyntax.Block) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range doc.Body.Blocks {
		switch {
		case b.Type == "statement":
			out = append(out, b)
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "statement":
			if c := child(b, "content"); c != nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// stringList evaluates a literal list of strings.
func stringList(t *testing.T, e hclsyntax.Expression) ([]string, bool) {
	t.Helper()
	v, ok := literal(t, e)
	if !ok || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil, false
	}
	var out []string
	for _, x := range v.AsValueSlice() {
		if x.Type() != cty.String {
			return nil, false
		}
		out = append(out, x.AsString())
	}
	return out, true
}

// jsonencodeKeys returns the keys of the object literal in jsonencode({...}).
func jsonencodeKeys(e hclsyntax.Expression) []string {
	call, ok := e.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
		return nil
	}
	obj, ok := call.Args[0].(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	var keys []string
	for _, item := range obj.Items {
		if k, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String {
			keys = append(keys, k.AsString())
		}
	}
	return keys
}

// attrSource is the source text of attribute name of b, or "".
func attrSource(t *testing.T, b *hclsyntax.Block, name string) string {
	t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		return ""
	}
	rng := a.Expr.Range()
	src, err := os.ReadFile(rng.Filename)
	if err != nil {
		t.Fatal(err)
	}
	return string(rng.SliceBytes(src))
}

func isDLQ(name string) bool { return strings.HasSuffix(name, "dlq") }

// TestModuleCallsMatchTheModules: every argument a module call in an env
// sets is a variable of the module, and every variable without a default
// is set (what `terraform validate` would say, which needs the providers).
func TestModuleCallsMatchTheModules(t *testing.T) {
	meta := map[string]bool{"source": true, "version": true, "for_each": true, "count": true, "providers": true, "depends_on": true}
	for _, dir := range []string{"envs/example"} {
		env := loadModule(t, dir)
		for _, call := range env.blocks {
			if call.Type != "module" {
				continue
			}
			src, ok := literal(t, call.Body.Attributes["source"].Expr)
			if !ok {
				t.Fatalf("%s: module %s: source is not a literal", dir, call.Labels[0])
			}
			mod := loadModule(t, filepath.Join(dir, src.AsString()))
			for name := range call.Body.Attributes {
				if !meta[name] && mod.variable(name) == nil {
					t.Errorf("%s: module %s sets %s, which %s does not declare", dir, call.Labels[0], name, src.AsString())
				}
			}
			for _, b := range mod.blocks {
				if b.Type != "variable" {
					continue
				}
				_, hasDefault := b.Body.Attributes["default"]
				if _, set := call.Body.Attributes[b.Labels[0]]; !hasDefault && !set {
					t.Errorf("%s: module %s does not set %s, which %s requires", dir, call.Labels[0], b.Labels[0], src.AsString())
				}
			}
		}
	}
}
