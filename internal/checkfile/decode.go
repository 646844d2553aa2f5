package checkfile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
)

// Built-in defaults for what neither a check nor the file's defaults set.
const (
	defaultAPITimeout     = 10 * time.Second
	defaultBrowserTimeout = 60 * time.Second
	defaultMethod         = "GET"
	defaultMatcher        = check.MatchContains
)

// The keys each mapping may hold.
var (
	topKeys = keys{
		names: []string{"defaults", "checks", "alert_channels", "alert_policy", "maintenance"}, extensions: true,
		hints: map[string]string{"check": "checks", "default": "defaults",
			// Checkly's and Gatus's names for ours.
			"alertChannels": "alert_channels", "alerting": "alert_channels", "channels": "alert_channels",
			"alertSettings": "alert_policy", "alert_settings": "alert_policy", "alert": "alert_policy",
			"alerts": "alert_policy", "maintenanceWindows": "maintenance", "maintenance_windows": "maintenance"},
	}
	defaultsKeys = keys{names: []string{"every", "cron", "timezone", "locations", "tags", "timeout", "degraded_after"}}
	checkKeys    = keys{
		names: []string{"id", "name", "type", "every", "cron", "timezone", "locations", "tags", "timeout",
			"degraded_after", "request", "steps", "viewport", "assertions", "alert"},
		hints: checkHints,
	}
	requestKeys   = keys{names: []string{"method", "url", "headers", "body", "follow_redirects", "max_redirects"}}
	stepKeys      = keys{names: []string{"action", "selector", "value", "url", "key", "script", "matcher", "timeout", "duration"}}
	viewportKeys  = keys{names: []string{"width", "height"}}
	assertionKeys = keys{names: []string{"source", "property", "comparison", "target"}}
)

// stepFields lists the keys each action reads besides "action" (see the
// Action constants in package check). Any other key on a step is a mistake
// the runner would silently ignore, so the parser reports it.
var stepFields = map[check.Action][]string{
	check.ActionGoto:          {"url", "timeout"},
	check.ActionClick:         {"selector", "timeout"},
	check.ActionFill:          {"selector", "value", "timeout"},
	check.ActionSelect:        {"selector", "value", "timeout"},
	check.ActionPress:         {"key", "selector", "timeout"},
	check.ActionWaitVisible:   {"selector", "timeout"},
	check.ActionWaitHidden:    {"selector", "timeout"},
	check.ActionAssertText:    {"selector", "matcher", "value", "timeout"},
	check.ActionAssertURL:     {"matcher", "value", "timeout"},
	check.ActionAssertTitle:   {"matcher", "value", "timeout"},
	check.ActionAssertVisible: {"selector", "timeout"},
	check.ActionEval:          {"script", "timeout"},
	check.ActionSleep:         {"duration"},
	check.ActionScreenshot:    {"timeout"},
}

// entry is one decoded check with where each of its fields was written, so
// that problems found by check.ValidateDefinition can be put back on a line.
type entry struct {
	check  check.Check
	file   string
	name   string     // how messages name the check: `check "home"` or `checks[3]`
	start  *yaml.Node // the check's mapping
	idNode *yaml.Node
	// at maps a check.Problem field path ("api.url") to where it was written.
	at map[string]site
	// bad holds check.Problem field paths the decoder already reported;
	// validation problems on them or below them would only repeat it.
	bad map[string]bool
	// skipValidation is set when the decoder dropped so much of the check
	// that validating the rest would mostly repeat it.
	skipValidation bool
	// alert is the check's alert key, when alerting is read and it is
	// written.
	alert *policyLayer
	// policy is the check's policy, alert_policy and alert merged over
	// alert.DefaultPolicy, when alerting is read.
	policy alert.Policy
}

// site is where a field was written and how to name it there.
type site struct {
	node  *yaml.Node
	field string // checks.yaml path: "request.url", "defaults.timeout"
	// defaults marks a field the check took from the defaults block, whose
	// line is shared by every check and so does not say which one.
	defaults bool
}

// path names one field twice: as checks.yaml shows it and as
// check.Problem names it.
type path struct{ yaml, check string }

func (p path) key(yamlKey, checkKey string) path {
	return path{join(p.yaml, yamlKey), join(p.check, checkKey)}
}

func (p path) index(yamlIndex, checkIndex int) path {
	return path{fmt.Sprintf("%s[%d]", p.yaml, yamlIndex), fmt.Sprintf("%s[%d]", p.check, checkIndex)}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// parseFile decodes and validates one file. Problems are unsorted.
// With alerting it reads the alerting keys too (see alerting.go).
func parseFile(name string, data []byte, alerting bool) parsedFile {
	doc, problem := decodeDocument(name, data)
	if problem != nil {
		return parsedFile{problems: []Problem{*problem}}
	}
	d := &decoder{file: name, sizes: map[*yaml.Node]int{}, shared: map[sharedKey]*[]string{}}
	if alerting {
		d.alerting = &fileAlerting{file: name}
	}
	entries := d.document(doc)
	if !d.bombed {
		for _, e := range entries {
			d.validate(e)
		}
		if d.alerting != nil {
			d.validateAlerting(entries)
		}
		d.flushShared()
	}
	return parsedFile{entries: entries, problems: d.problems, alerting: d.alerting}
}

// document decodes the top level: a mapping with checks and defaults, or a
// bare list of checks.
func (d *decoder) document(doc *yaml.Node) []*entry {
	if len(doc.Content) == 0 {
		d.problem(doc, "", "%s", emptyFile)
		return nil
	}
	root := d.deref(doc.Content[0])
	switch {
	case root == nil:
		return nil
	case isNull(root):
		d.problem(root, "", "%s", emptyFile)
		return nil
	case root.Kind == yaml.SequenceNode:
		return d.checks(root, &common{})
	case root.Kind != yaml.MappingNode:
		d.problem(root, "", "want a mapping with checks: (and optional defaults:) or a list of checks, got %s", describe(root))
		return nil
	}
	var defs common
	var list *yaml.Node
	typos := d.fields(root, "at the top level", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "defaults":
			if v.Kind != yaml.MappingNode {
				d.problem(v, "defaults", "must be a mapping, got %s", describe(v))
				return
			}
			defs.typos = d.fields(v, "in defaults", defaultsKeys, func(key string, k, v *yaml.Node) {
				d.common(&defs, "defaults.", key, k, v)
			})
		case "checks":
			if v.Kind != yaml.SequenceNode {
				d.problem(v, "checks", "must be a list of checks, got %s", describe(v))
				return
			}
			list = v
		case "alert_channels", "alert_policy", "maintenance":
			if d.alerting != nil {
				d.alertingKey(key, k, v)
			}
		}
	})
	if slices.Contains(typos, "defaults") {
		// Every key the misspelt defaults block held may be missing below.
		defs.typos = append(defs.typos, defaultsKeys.names...)
	}
	if list == nil {
		// A file of a folder may hold alerting only (alerting.yaml).
		alertingOnly := d.peek(root, "alert_channels") != nil || d.peek(root, "maintenance") != nil
		switch v := d.peek(root, "checks"); {
		case v == nil && !d.bombed && !slices.Contains(typos, "checks") && !alertingOnly:
			d.problem(root, "checks", "is required: a list of checks")
		case v != nil && isNull(v):
			d.problem(v, "checks", "must be a list of checks, got nothing")
		}
		return nil
	}
	return d.checks(list, &defs)
}

func (d *decoder) checks(list *yaml.Node, defs *common) []*entry {
	var entries []*entry
	for i, item := range list.Content {
		if d.bombed {
			break
		}
		if e := d.check(item, i, defs); e != nil {
			entries = append(entries, e)
		}
	}
	return entries
}

// common holds the fields a check shares with the defaults block.
type common struct {
	every, timeout, degraded setting[time.Duration]
	cron, timezone           setting[string]
	locations, tags          list
	// typos are the keys meant by unknown keys (see decoder.fields).
	typos []string
}

// setting is one scalar field as written.
type setting[T any] struct {
	v    T
	node *yaml.Node // the value; nil when not written
	bad  bool       // written, but not readable (already reported)
}

func (s setting[T]) written() bool { return s.node != nil }

// list is a field holding a list of strings, as written.
type list struct {
	v     []string
	items []*yaml.Node // the node of each element of v
	index []int        // the index in the file of each element of v
	node  *yaml.Node   // the key; nil when not written
	bad   bool
}

// common decodes one of the shared keys into c. prefix is "defaults." or "".
func (d *decoder) common(c *common, prefix, key string, k, v *yaml.Node) {
	field := prefix + key
	switch key {
	case "every":
		c.every = d.durationSetting(v, field, true)
	case "timeout":
		c.timeout = d.durationSetting(v, field, true)
	case "degraded_after":
		c.degraded = d.durationSetting(v, field, false)
	case "cron":
		c.cron = d.textSetting(v, field)
	case "timezone":
		c.timezone = d.textSetting(v, field)
	case "locations":
		c.locations = d.list(k, v, field)
	case "tags":
		c.tags = d.list(k, v, field)
	}
}

func (d *decoder) durationSetting(v *yaml.Node, field string, positive bool) setting[time.Duration] {
	s := setting[time.Duration]{node: v}
	s.v, s.bad = d.duration(v, field, positive)
	return s
}

func (d *decoder) textSetting(v *yaml.Node, field string) setting[string] {
	s := setting[string]{node: v}
	s.v, s.bad = d.text(v, field)
	return s
}

func (d *decoder) list(k, v *yaml.Node, field string) list {
	l := list{node: k}
	if v.Kind != yaml.SequenceNode {
		d.problem(v, field, "must be a list, like [%s], got %s", exampleOf(field), describe(v))
		l.bad = true
		return l
	}
	dropped := false
	for i, item := range v.Content {
		item = d.deref(item)
		if item == nil {
			continue
		}
		s, bad := d.text(item, fmt.Sprintf("%s[%d]", field, i))
		if bad || isNull(item) {
			if !bad {
				d.problem(item, fmt.Sprintf("%s[%d]", field, i), "must not be empty")
			}
			dropped = true
			continue
		}
		l.v = append(l.v, s)
		l.items = append(l.items, item)
		l.index = append(l.index, i)
	}
	// Items reported here are left out; if none is left, "needs at least
	// one" would only repeat them.
	l.bad = dropped && len(l.v) == 0
	return l
}

func exampleOf(field string) string {
	switch {
	case strings.HasSuffix(field, "locations"):
		return "eu-west-1, us-east-1"
	case strings.HasSuffix(field, "channels"):
		return "ops-slack, oncall"
	case strings.HasSuffix(field, "checks"):
		return "home, api-health"
	case strings.HasSuffix(field, ".to"):
		return "oncall@example.com"
	}
	return "team-a, critical"
}

// check decodes one item of the checks list.
func (d *decoder) check(item *yaml.Node, index int, defs *common) *entry {
	n := d.deref(item)
	if n == nil {
		return nil
	}
	e := &entry{
		file: d.file, name: fmt.Sprintf("checks[%d]", index), start: n,
		at: map[string]site{}, bad: map[string]bool{},
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, fmt.Sprintf("checks[%d]", index), "must be a mapping (a check), got %s", describe(n))
		return nil
	}
	if id := d.peek(n, "id"); id != nil && id.Kind == yaml.ScalarNode && !isNull(id) {
		e.name = fmt.Sprintf("check %q", clip(id.Value))
	}
	var own common
	var request, steps, viewport, assertions, alerting [2]*yaml.Node // key, value
	root := path{}
	typos := d.fields(n, "in "+e.name, checkKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "id", "name", "type":
			e.at[key] = site{node: v, field: key}
			text := d.textField(e, root.key(key, key), v)
			switch key {
			case "id":
				e.idNode, e.check.ID = v, text
			case "name":
				e.check.Name = text
			case "type":
				e.check.Type = check.Type(text)
			}
		case "request":
			request = [2]*yaml.Node{k, v}
		case "steps":
			steps = [2]*yaml.Node{k, v}
		case "viewport":
			viewport = [2]*yaml.Node{k, v}
		case "assertions":
			assertions = [2]*yaml.Node{k, v}
		case "alert":
			alerting = [2]*yaml.Node{k, v}
		default:
			d.common(&own, "", key, k, v)
		}
	})
	for _, key := range typos {
		e.mistyped(key)
	}
	for _, key := range defs.typos {
		if d.peek(n, key) == nil {
			e.mistyped(key)
		}
	}
	e.apply(&own, defs)
	if request[0] != nil {
		d.request(e, request[0], request[1])
	}
	if steps[0] != nil || viewport[0] != nil {
		e.check.Browser = &check.BrowserSpec{}
		if steps[0] != nil {
			d.steps(e, steps[0], steps[1])
		}
		if viewport[0] != nil {
			d.viewport(e, viewport[0], viewport[1])
		}
		first := steps[0]
		if first == nil {
			first = viewport[0]
		}
		e.at["browser"] = site{node: first, field: first.Value}
	}
	if assertions[0] != nil {
		d.assertions(e, assertions[0], assertions[1])
	}
	if alerting[0] != nil && d.alerting != nil {
		e.alert = d.policyLayer(alerting[0], alerting[1], "alert", "in alert of "+e.name)
	}
	if e.check.Timeout == 0 && !e.bad["timeout"] {
		// A check without a valid type gets one too: its type is the problem.
		e.check.Timeout = defaultAPITimeout
		if e.check.Type == check.TypeBrowser {
			e.check.Timeout = defaultBrowserTimeout
		}
	}
	return e
}

// mistyped marks the field a misspelt key (reported as unknown) was meant
// to be, so its absence is not reported as well.
func (e *entry) mistyped(key string) {
	switch key {
	case "<<":
		// A refused merge leaves fields of unknown number missing.
		e.skipValidation = true
	case "degraded_after":
		e.bad["degraded"] = true
	case "every", "cron":
		// A missing schedule is reported on "every".
		e.bad["every"], e.bad[key] = true, true
	case "request", "steps", "viewport":
		e.bad[map[string]string{"request": "api", "steps": "browser", "viewport": "browser.viewport"}[key]] = true
	default:
		if rest, ok := strings.CutPrefix(key, "request."); ok {
			key = "api." + rest
		} else if strings.HasPrefix(key, "viewport.") {
			key = "browser.viewport"
		}
		e.bad[key] = true
	}
}

// apply sets the shared fields of e from the check's own values, falling
// back to the defaults block. A key set on the check replaces the default
// whole (lists are not merged). The schedule is one unit: a check with its
// own every or cron ignores the default every and cron; the default
// timezone applies to any cron schedule that has no timezone of its own.
func (e *entry) apply(own, defs *common) {
	pick := func(o, d setting[time.Duration]) (setting[time.Duration], bool) {
		if o.written() {
			return o, false
		}
		return d, true
	}
	if s, def := pick(own.timeout, defs.timeout); s.written() {
		e.check.Timeout = s.v
		e.place("timeout", "timeout", s.node, def, s.bad)
	}
	if s, def := pick(own.degraded, defs.degraded); s.written() {
		e.check.DegradedAfter = s.v
		e.place("degraded", "degraded_after", s.node, def, s.bad)
	}

	every, cron, schedDef := own.every, own.cron, false
	if !every.written() && !cron.written() {
		every, cron, schedDef = defs.every, defs.cron, true
	}
	if every.written() {
		e.check.Schedule.Every = every.v
		e.place("every", "every", every.node, schedDef, every.bad)
	}
	if cron.written() {
		e.check.Schedule.Cron = cron.v
		e.place("cron", "cron", cron.node, schedDef, cron.bad)
	}
	tz, tzDef := own.timezone, false
	if !tz.written() && cron.written() {
		tz, tzDef = defs.timezone, true
	}
	if tz.written() {
		e.check.Schedule.TimeZone = tz.v
		e.place("timezone", "timezone", tz.node, tzDef, tz.bad)
	}

	for _, l := range []struct {
		key       string
		own, defs list
		dst       *[]string
	}{
		{"locations", own.locations, defs.locations, &e.check.Locations},
		{"tags", own.tags, defs.tags, &e.check.Tags},
	} {
		src, def := l.own, false
		if src.node == nil {
			src, def = l.defs, true
		}
		if src.node == nil {
			continue
		}
		*l.dst = src.v
		e.place(l.key, l.key, src.node, def, src.bad)
		for i, item := range src.items {
			e.place(fmt.Sprintf("%s[%d]", l.key, i), fmt.Sprintf("%s[%d]", l.key, src.index[i]), item, def, false)
		}
	}
}

// place records where the field named checkField (check.Problem terms) was
// written, under the checks.yaml name field.
func (e *entry) place(checkField, field string, n *yaml.Node, fromDefaults, bad bool) {
	if fromDefaults {
		field = "defaults." + field
	}
	e.at[checkField] = site{node: n, field: field, defaults: fromDefaults}
	if bad {
		e.bad[checkField] = true
	}
}
