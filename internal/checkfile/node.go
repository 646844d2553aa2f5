package checkfile

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// maxAliasNodes caps how many nodes may be reached through aliases in one
// file. A shared header block or step list used by a few thousand checks
// stays far below it; "billion laughs" (aliases of lists of aliases) passes
// it after a handful of levels and is refused instead of expanded.
const maxAliasNodes = 1_000_000

// decoder walks the yaml.Node tree of one file, collecting problems.
//
// The tree is walked by hand rather than decoded into structs: only the
// nodes know the line of every key, which unknown and duplicate keys need to
// be reported, and the walk decides how far aliases are followed.
type decoder struct {
	file     string
	problems []Problem
	// expanded counts the nodes reached through aliases so far.
	expanded int
	// sizes memoises the size of anchored subtrees.
	sizes  map[*yaml.Node]int
	bombed bool
	// shared collects problems with values from the defaults block, by
	// problem, with the checks they affect.
	shared      map[sharedKey]*[]string
	sharedOrder []sharedKey
	// alerting collects the file's alerting keys; nil when they are not
	// read (Load, Parse).
	alerting *fileAlerting
}

func (d *decoder) problem(n *yaml.Node, field, format string, args ...any) {
	p := Problem{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

// badf reports a problem with a field of e and marks it, so validation does
// not report it again.
func (d *decoder) badf(e *entry, p path, n *yaml.Node, format string, args ...any) {
	d.problem(n, p.yaml, format, args...)
	e.bad[p.check] = true
}

// deref follows aliases, charging what they expand to against
// maxAliasNodes. It returns nil once the budget is spent.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if d.bombed {
			return nil
		}
		d.expanded += d.size(n.Alias)
		if d.expanded > maxAliasNodes {
			d.bombed = true
			d.problem(n, "", "alias *%s takes the file past %d nodes expanded through aliases, or refers to itself; refusing it (nested aliases grow exponentially)", n.Value, maxAliasNodes)
			return nil
		}
		n = n.Alias
	}
	return n
}

// size counts the nodes under n, aliases expanded, saturating just above
// maxAliasNodes. A node met again while being counted is a cycle and counts
// as too many.
func (d *decoder) size(n *yaml.Node) int {
	if n == nil {
		return 1
	}
	if s, ok := d.sizes[n]; ok {
		return s
	}
	const tooMany = maxAliasNodes + 1
	d.sizes[n] = tooMany
	s := 1
	children := n.Content
	if n.Kind == yaml.AliasNode {
		children = []*yaml.Node{n.Alias}
	}
	for _, c := range children {
		if s += d.size(c); s >= tooMany {
			s = tooMany
			break
		}
	}
	d.sizes[n] = s
	return s
}

// keys describes the keys a mapping may hold.
type keys struct {
	// names are the keys, in documentation order.
	names []string
	// hints answer unknown keys that are not typos of names: keys that
	// belong elsewhere, Checkly's names for ours.
	hints map[string]string
	// extensions lets keys starting with "x-" through unread, as a place
	// for anchors (as in docker-compose files).
	extensions bool
}

// fields walks the pairs of mapping n, reporting keys that are not text,
// repeated, merge keys, or not known (with a suggestion), and calls fn for
// every known key whose value is not null: a null value (`timeout:` or
// `timeout: ~`) is the same as no key. where names the mapping in messages
// ("in check \"home\"").
//
// It returns the keys suggested for unknown ones: the caller marks them,
// since "timeout: is required" under "unknown field timout" says nothing
// new.
func (d *decoder) fields(n *yaml.Node, where string, known keys, fn func(key string, k, v *yaml.Node)) (typos []string) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), d.deref(n.Content[i+1])
		if k == nil || v == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(k, "", "field names must be text %s, got %s", where, describe(k))
			continue
		}
		key := k.Value
		switch prev, dup := seen[key]; {
		case key == "<<" && k.Style == 0:
			d.problem(k, "", "merge keys (<<) are not supported %s; use defaults: for settings shared by checks", where)
			typos = append(typos, "<<")
		case dup:
			d.problem(k, "", "duplicate field %q %s (first on line %d)", clip(key), where, prev.Line)
		case known.extensions && strings.HasPrefix(key, "x-"):
		case !slices.Contains(known.names, key):
			guess := suggest(key, known)
			if guess != "" {
				typos = append(typos, guess)
			}
			d.problem(k, "", "unknown field %q %s%s", clip(key), where, didYouMean(guess))
		case !isNull(v):
			fn(key, k, v)
		}
		if _, dup := seen[key]; !dup {
			seen[key] = k
		}
	}
	return typos
}

// peek returns the value of key in mapping n without reporting anything.
func (d *decoder) peek(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return d.deref(n.Content[i+1])
		}
	}
	return nil
}

// text reads a scalar as the text written: a bare number or boolean is
// read as its text exactly as written (`target: 200` is "200", `1.50` stays
// "1.50"), which is what assertion targets and header values want.
func (d *decoder) text(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, field, "must be text, got %s", describe(n))
		return "", true
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return n.Value, false
	case "!!null":
		return "", false
	}
	d.problem(n, field, "has tag %s, which checks.yaml does not support; write plain text", n.Tag)
	return "", true
}

func (d *decoder) textField(e *entry, p path, n *yaml.Node) string {
	s, bad := d.text(n, p.yaml)
	if bad {
		e.bad[p.check] = true
	}
	return s
}

// duration reads a Go duration ("30s", "1m30s"). A bare number is refused:
// seconds or milliseconds would be a guess.
func (d *decoder) duration(n *yaml.Node, field string, positive bool) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, field, "must be a duration like 30s, got %s", describe(n))
		return 0, true
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		d.problem(n, field, "must be a duration with a unit, like %ss or %sms, got %s", n.Value, n.Value, n.Value)
		return 0, true
	case "!!str":
	default:
		d.problem(n, field, "must be a duration like 30s, 5m or 1h30m, got %s", describe(n))
		return 0, true
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.problem(n, field, "must be a duration like 30s, 5m or 1h30m, got %q", n.Value)
		return 0, true
	}
	if positive && v <= 0 {
		d.problem(n, field, "must be positive, got %v", v)
		return 0, true
	}
	return v, false
}

func (d *decoder) durationField(e *entry, p path, n *yaml.Node, positive bool) time.Duration {
	v, bad := d.duration(n, p.yaml, positive)
	if bad {
		e.bad[p.check] = true
	}
	return v
}

// integer reads a whole number that fits an int32.
func (d *decoder) integer(n *yaml.Node, field string) (int, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < math.MinInt32 || v > math.MaxInt32 {
		d.problem(n, field, "must be a whole number, got %s", describe(n))
		return 0, true
	}
	return int(v), false
}

func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.problem(n, field, "must be true or false, got %s", describe(n))
		return false, true
	}
	return v, false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", clip(n.Value))
	}
	return "a document"
}

// clip shortens text quoted in messages, which may come from a 10 MiB file.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// checkHints answer unknown keys on a check that belong elsewhere or are
// Checkly's names for ours.
var checkHints = map[string]string{
	"url": "request.url", "method": "request.method", "headers": "request.headers",
	"body": "request.body", "follow_redirects": "request.follow_redirects",
	"max_redirects": "request.max_redirects", "action": "steps",
	"frequency": "every", "interval": "every", "schedule": "every",
	"logicalId": "id", "logical_id": "id", "title": "name",
	"maxResponseTime": "timeout", "max_response_time": "timeout",
	"degradedResponseTime": "degraded_after", "degraded_response_time": "degraded_after",
	"width": "viewport.width", "height": "viewport.height",
	"alerts": "alert", "alertSettings": "alert", "alert_settings": "alert", "alert_policy": "alert",
	"alertChannels": "alert.channels", "alert_channels": "alert.channels",
}

// suggest returns the known key (or hint) closest to key, or "" if none is
// close.
func suggest(key string, known keys) string {
	if len(key) > 64 {
		return ""
	}
	if h, ok := known.hints[key]; ok {
		return h
	}
	lower := strings.ToLower(key)
	best, bestDist := "", math.MaxInt
	for _, k := range known.names {
		dist := editDistance(lower, k)
		if len(lower) >= 4 && strings.HasPrefix(k, lower) {
			dist = 1
		}
		if dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" || bestDist > max(1, len(key)/3) {
		return ""
	}
	return best
}

func didYouMean(guess string) string {
	if guess == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", guess)
}

// editDistance is the optimal-string-alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of
// neighbours ("tyep" is one edit from "type").
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			rows[i][j] = min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				rows[i][j] = min(rows[i][j], rows[i-2][j-2]+1)
			}
		}
	}
	return rows[len(a)][len(b)]
}

func contains(xs []string, x string) bool { return slices.Contains(xs, x) }
