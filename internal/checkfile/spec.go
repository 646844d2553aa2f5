package checkfile

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/checkfleet/checkfleet/internal/check"
)

// request decodes an api check's request; k is its key, v its value.
// Method defaults to GET and follow_redirects to true.
func (d *decoder) request(e *entry, k, v *yaml.Node) {
	p := path{"request", "api"}
	e.at["api"] = site{node: k, field: "request"}
	if v.Kind != yaml.MappingNode {
		d.badf(e, p, v, "must be a mapping with url, method, headers..., got %s", describe(v))
		return
	}
	api := &check.APISpec{Method: defaultMethod, FollowRedirects: true}
	e.check.API = api
	typos := d.fields(v, "in request of "+e.name, requestKeys, func(key string, k, v *yaml.Node) {
		f := p.key(key, key)
		e.at[f.check] = site{node: v, field: f.yaml}
		switch key {
		case "method":
			api.Method = d.textField(e, f, v)
		case "url":
			api.URL = d.textField(e, f, v)
		case "body":
			api.Body = d.textField(e, f, v)
		case "follow_redirects":
			var bad bool
			if api.FollowRedirects, bad = d.boolean(v, f.yaml); bad {
				e.bad[f.check] = true
			}
		case "max_redirects":
			var bad bool
			if api.MaxRedirects, bad = d.integer(v, f.yaml); bad {
				e.bad[f.check] = true
			}
		case "headers":
			d.headers(e, api, f, v)
		}
	})
	for _, key := range typos {
		e.bad[p.check+"."+key] = true
	}
}

// headers reads a mapping of header name to value (or to a list of values,
// to send a header more than once), keeping the order written.
func (d *decoder) headers(e *entry, api *check.APISpec, p path, v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		d.badf(e, p, v, "must be a mapping of header name to value, got %s", describe(v))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := d.deref(v.Content[i]), d.deref(v.Content[i+1])
		if k == nil || val == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(k, p.yaml, "header names must be text, got %s", describe(k))
			continue
		}
		name := k.Value
		field := p.yaml + "." + clip(name)
		if prev, ok := seen[strings.ToLower(name)]; ok {
			d.problem(k, field, "repeats the header on line %d; to send a header more than once give it a list of values", prev.Line)
			continue
		}
		seen[strings.ToLower(name)] = k
		values := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			values = nil
			for _, item := range val.Content {
				if item = d.deref(item); item != nil {
					values = append(values, item)
				}
			}
		}
		for _, item := range values {
			hp := path{field, fmt.Sprintf("%s[%d]", p.check, len(api.Headers))}
			value := ""
			if !isNull(item) {
				var bad bool
				if value, bad = d.text(item, field); bad {
					e.bad[hp.check+".value"] = true
				}
			}
			e.at[hp.check+".name"] = site{node: k, field: field}
			e.at[hp.check+".value"] = site{node: item, field: field}
			api.Headers = append(api.Headers, check.Header{Name: name, Value: value})
		}
	}
}

// steps decodes a browser check's steps. A step that is not a mapping is
// reported and left out; fields its action does not use are reported; an
// assert_* step without a matcher gets the default one.
func (d *decoder) steps(e *entry, k, v *yaml.Node) {
	p := path{"steps", "browser.steps"}
	e.at[p.check] = site{node: k, field: p.yaml}
	if v.Kind != yaml.SequenceNode {
		d.badf(e, p, v, "must be a list of steps, got %s", describe(v))
		return
	}
	for i, item := range v.Content {
		item = d.deref(item)
		if item == nil {
			continue
		}
		sp := p.index(i, len(e.check.Browser.Steps))
		if item.Kind != yaml.MappingNode {
			d.problem(item, sp.yaml, "must be a mapping with an action, got %s", describe(item))
			continue
		}
		e.at[sp.check] = site{node: item, field: sp.yaml}
		var s check.Step
		var written []*yaml.Node // keys, in order
		typos := d.fields(item, fmt.Sprintf("in %s of %s", sp.yaml, e.name), stepKeys, func(key string, k, v *yaml.Node) {
			written = append(written, k)
			f := sp.key(key, key)
			e.at[f.check] = site{node: v, field: f.yaml}
			switch key {
			case "action":
				s.Action = check.Action(d.textField(e, f, v))
			case "selector":
				s.Selector = d.textField(e, f, v)
			case "value":
				s.Value = d.textField(e, f, v)
			case "url":
				s.URL = d.textField(e, f, v)
			case "key":
				s.Key = d.textField(e, f, v)
			case "script":
				s.Script = d.textField(e, f, v)
			case "matcher":
				s.Matcher = check.Matcher(d.textField(e, f, v))
			case "timeout":
				s.Timeout = d.durationField(e, f, v, false)
			case "duration":
				s.Duration = d.durationField(e, f, v, true)
			}
		})
		for _, key := range typos {
			e.bad[sp.check+"."+key] = true
		}
		if uses, ok := stepFields[s.Action]; ok {
			for _, k := range written {
				if k.Value != "action" && !contains(uses, k.Value) {
					d.problem(k, sp.yaml+"."+k.Value, "is not used by %s (%s takes %s)", s.Action, s.Action, takes(uses))
				}
			}
			if s.Matcher == "" && contains(uses, "matcher") {
				s.Matcher = defaultMatcher
			}
		}
		e.check.Browser.Steps = append(e.check.Browser.Steps, s)
	}
}

func takes(fields []string) string {
	if len(fields) == 0 {
		return "nothing"
	}
	return strings.Join(fields, ", ")
}

// viewport decodes a browser check's window size.
func (d *decoder) viewport(e *entry, k, v *yaml.Node) {
	p := path{"viewport", "browser.viewport"}
	e.at[p.check] = site{node: k, field: p.yaml}
	if v.Kind != yaml.MappingNode {
		d.badf(e, p, v, "must be a mapping with width and height, got %s", describe(v))
		return
	}
	vp := &e.check.Browser.Viewport
	if typos := d.fields(v, "in viewport of "+e.name, viewportKeys, func(key string, k, v *yaml.Node) {
		f := p.key(key, key)
		n, bad := d.integer(v, f.yaml)
		if bad {
			// Validate reports the viewport as a whole; this said it already.
			e.bad[p.check] = true
		}
		if key == "width" {
			vp.Width = n
		} else {
			vp.Height = n
		}
	}); len(typos) > 0 {
		e.bad[p.check] = true
	}
}

// assertions decodes an api check's assertions. Every value is read as
// text as written, so `target: 200` is "200".
func (d *decoder) assertions(e *entry, k, v *yaml.Node) {
	p := path{"assertions", "assertions"}
	e.at[p.check] = site{node: k, field: p.yaml}
	if v.Kind != yaml.SequenceNode {
		d.badf(e, p, v, "must be a list of assertions, got %s", describe(v))
		return
	}
	for i, item := range v.Content {
		item = d.deref(item)
		if item == nil {
			continue
		}
		ap := p.index(i, len(e.check.Assertions))
		if item.Kind != yaml.MappingNode {
			d.problem(item, ap.yaml, "must be a mapping with source, comparison and target, got %s", describe(item))
			continue
		}
		e.at[ap.check] = site{node: item, field: ap.yaml}
		var a check.Assertion
		typos := d.fields(item, fmt.Sprintf("in %s of %s", ap.yaml, e.name), assertionKeys, func(key string, k, v *yaml.Node) {
			f := ap.key(key, key)
			e.at[f.check] = site{node: v, field: f.yaml}
			s := d.textField(e, f, v)
			switch key {
			case "source":
				a.Source = check.Source(s)
			case "property":
				a.Property = s
			case "comparison":
				a.Comparison = check.Comparison(s)
			case "target":
				a.Target = s
			}
		})
		for _, key := range typos {
			e.bad[ap.check+"."+key] = true
		}
		e.check.Assertions = append(e.check.Assertions, a)
	}
}
