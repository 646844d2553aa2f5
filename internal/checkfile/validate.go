package checkfile

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/timetable"
)

// validate runs check.ValidateDefinition and the cron parser on e and puts
// each problem on the line of the field it names. Problems with a value
// taken from defaults are held back to be reported once for all the checks
// they affect (see flushShared).
func (d *decoder) validate(e *entry) {
	if e.skipValidation {
		return
	}
	var problems []check.Problem
	if err := e.check.ValidateDefinition(); err != nil {
		problems = err.(*check.ValidationError).Problems
	}
	s := e.check.Schedule
	if s.Cron != "" && !e.bad["cron"] && !e.bad["timezone"] && !hasField(problems, "cron") && !hasField(problems, "timezone") {
		if _, err := timetable.ParseCron(s); err != nil {
			problems = append(problems, check.Problem{Field: "cron", Message: err.Error()})
		}
	}
	for _, p := range problems {
		if e.suppressed(p.Field) {
			continue
		}
		at := e.locate(p.Field)
		if !at.defaults {
			d.problem(at.node, at.field, "%s", p.Message)
			continue
		}
		d.share(e, at.node, at.field, p.Message)
	}
}

// sharedKey identifies a problem with a value in the defaults block.
type sharedKey struct {
	node           *yaml.Node
	field, message string
}

// flushShared reports each problem with a defaults value once, naming the
// checks it affects.
func (d *decoder) flushShared() {
	for _, key := range d.sharedOrder {
		names := *d.shared[key]
		var which string
		switch {
		case len(names) == 1 && strings.Contains(key.message, "check "+names[0]):
			// The message names the check already.
			d.problem(key.node, key.field, "%s", key.message)
			continue
		case len(names) == 1:
			which = "check " + names[0]
		case len(names) <= 3:
			which = "checks " + strings.Join(names, ", ")
		default:
			which = fmt.Sprintf("checks %s and %d more", strings.Join(names[:3], ", "), len(names)-3)
		}
		d.problem(key.node, key.field, "%s (in %s)", key.message, which)
	}
}

func hasField(problems []check.Problem, field string) bool {
	for _, p := range problems {
		if p.Field == field {
			return true
		}
	}
	return false
}

// suppressed reports whether field, or a field it is part of, was already
// reported by the decoder.
func (e *entry) suppressed(field string) bool {
	for f := field; f != ""; f = parent(f) {
		if e.bad[f] {
			return true
		}
	}
	return false
}

// locate finds where the field named by a check.Problem was written, or the
// nearest enclosing field that was, or the check itself.
func (e *entry) locate(field string) site {
	for f := field; f != ""; f = parent(f) {
		if s, ok := e.at[f]; ok {
			if f != field {
				s.field = yamlPath(field)
				if s.defaults {
					s.field = "defaults." + s.field
				}
			}
			return s
		}
	}
	return site{node: e.start, field: yamlPath(field)}
}

// parent strips the last element of a check.Problem field path:
// "browser.steps[2].url" → "browser.steps[2]" → "browser.steps".
func parent(field string) string {
	i := strings.LastIndexAny(field, ".[")
	if i < 0 {
		return ""
	}
	return field[:i]
}

// yamlPath translates a check.Problem field path into checks.yaml terms.
func yamlPath(field string) string {
	switch {
	case field == "degraded":
		return "degraded_after"
	case field == "api":
		return "request"
	case strings.HasPrefix(field, "api."):
		return "request." + strings.TrimPrefix(field, "api.")
	case field == "browser":
		return "steps"
	case strings.HasPrefix(field, "browser."):
		return strings.TrimPrefix(field, "browser.")
	}
	return field
}
