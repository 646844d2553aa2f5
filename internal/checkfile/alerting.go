package checkfile

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
)

// SecretPrefix starts the name of every environment variable a checks file
// may reference as ${{ env.NAME }}. The control plane's environment also
// holds its own credentials (the API token, the store's URL, AWS keys); a
// checks file, often edited by more people than run the control plane,
// must not be able to send them to a URL of its choosing, so it reads
// only the variables an operator exported for it under this prefix.
const SecretPrefix = "CHECKFLEET_SECRET_"

// Alerting is what a checks file or folder says about alerting: where
// notifications go, when each check alerts, and when it is muted. Every
// part has passed its validation in package alert.
type Alerting struct {
	// Channels are the alert_channels of every file, in file order. Their
	// references are not resolved: call Resolve with the control plane's
	// environment.
	Channels []alert.ChannelConfig
	// Checks holds every check's alerting, by check id.
	Checks map[string]CheckAlerting
	// Maintenance is the maintenance windows of every file, validated
	// (ready for Active).
	Maintenance []alert.MaintenanceWindow
	// Warnings are what deserves a look but does not stop the file from
	// loading (Problem.Warning is set on each).
	Warnings []Problem
}

// CheckAlerting is one check's alerting: alert.DefaultPolicy, overridden by
// its file's alert_policy, overridden by the check's alert.
type CheckAlerting struct {
	// Policy passed alert.Policy.ValidateFor the check.
	Policy alert.Policy
	// Channels are the ids of the channels (in Alerting.Channels) to
	// notify; empty when the check notifies none.
	Channels []string
}

// LoadAlerting reads the checks at path as Load does, and their alerting
// keys too: alert_channels, alert_policy and maintenance at the top level
// of a file, alert on a check. Channel and maintenance ids are unique
// across the files of a folder, and any file's channel may be named by
// any file's checks; an alert_policy applies to the checks of its own file,
// as defaults does.
//
// lookup, when not nil, is asked for every variable a channel references
// (os.LookupEnv where the control plane runs): one it does not find is a
// warning, since a laptop validating a file need not hold production
// secrets. Nothing else reads the environment.
//
// It returns every problem (warnings among them) as an *Error, or a
// wrapped I/O error if a file cannot be read.
func LoadAlerting(path string, lookup func(string) (string, bool)) ([]check.Check, Alerting, error) {
	parsed, err := load(path, true)
	if err != nil {
		return nil, Alerting{}, err
	}
	return collectAlerting(parsed, lookup)
}

// ParseAlerting is LoadAlerting for one file held in memory; name is used
// in problems.
func ParseAlerting(name string, data []byte, lookup func(string) (string, bool)) ([]check.Check, Alerting, error) {
	if len(data) > MaxFileSize {
		return nil, Alerting{}, &Error{Problems: []Problem{tooLarge(name, int64(len(data)))}}
	}
	return collectAlerting([]parsedFile{parseFile(name, data, true)}, lookup)
}

// collectAlerting checks what spans files (ids, channel names, what
// windows select, variables), then collects problems and results.
func collectAlerting(files []parsedFile, lookup func(string) (string, bool)) ([]check.Check, Alerting, error) {
	x := crossFile{channels: map[string]place{}, windows: map[string]place{}, used: map[string]bool{},
		checkIDs: map[string]bool{}, tags: map[string]bool{}}
	for _, f := range files {
		for _, e := range f.entries {
			x.checkIDs[e.check.ID] = true
			for _, t := range e.check.Tags {
				x.tags[t] = true
			}
		}
	}
	for i := range files {
		x.file = &files[i]
		if x.file.alerting != nil {
			x.ids()
		}
	}
	for i := range files {
		x.file = &files[i]
		if x.file.alerting != nil {
			x.references(lookup)
		}
	}
	for i := range files {
		x.file = &files[i]
		if x.file.alerting != nil {
			x.unused()
		}
	}
	checks, warnings, err := collect(files)
	if err != nil {
		return nil, Alerting{}, err
	}
	a := Alerting{Checks: map[string]CheckAlerting{}, Warnings: warnings}
	for _, f := range files {
		fa := f.alerting
		if fa == nil {
			continue
		}
		for _, c := range fa.channels {
			a.Channels = append(a.Channels, c.cfg)
		}
		for _, w := range fa.windows {
			a.Maintenance = append(a.Maintenance, w.w)
		}
		for _, e := range f.entries {
			a.Checks[e.check.ID] = CheckAlerting{Policy: e.policy, Channels: slices.Clone(fa.channelsOf(e).v)}
		}
	}
	return checks, a, nil
}

// place is where an id was first defined.
type place struct {
	file string
	line int
}

// crossFile checks what spans the files of a folder, adding problems to
// the file it is at.
type crossFile struct {
	file              *parsedFile
	channels, windows map[string]place
	used              map[string]bool
	checkIDs, tags    map[string]bool
}

func (x *crossFile) add(n *yaml.Node, warning bool, field, format string, args ...any) {
	f := x.file
	p := Problem{File: f.alerting.file, Field: field, Message: fmt.Sprintf(format, args...), Warning: warning}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	f.problems = append(f.problems, p)
}

// ids refuses a channel or window id defined twice.
func (x *crossFile) ids() {
	fa := x.file.alerting
	for _, c := range fa.channels {
		if c.idNode == nil || c.cfg.Name == "" {
			continue
		}
		if prev, ok := x.channels[c.cfg.Name]; ok {
			x.add(c.idNode, false, c.prefix()+".id", "duplicate channel id %q, first defined at %s:%d", clip(c.cfg.Name), prev.file, prev.line)
			continue
		}
		x.channels[c.cfg.Name] = place{fa.file, c.idNode.Line}
	}
	for _, w := range fa.windows {
		if w.idNode == nil || w.w.ID == "" {
			continue
		}
		if prev, ok := x.windows[w.w.ID]; ok {
			x.add(w.idNode, false, w.prefix()+".id", "duplicate maintenance id %q, first defined at %s:%d", clip(w.w.ID), prev.file, prev.line)
			continue
		}
		x.windows[w.w.ID] = place{fa.file, w.idNode.Line}
	}
}

// references checks the channels policies name, the checks and tags
// windows select, and the variables channels read.
func (x *crossFile) references(lookup func(string) (string, bool)) {
	fa := x.file.alerting
	layers := []*policyLayer{fa.policy}
	for _, e := range x.file.entries {
		layers = append(layers, e.alert)
	}
	for _, l := range layers {
		if l == nil || l.channels == nil {
			continue
		}
		for i, id := range l.channels.v {
			item := l.channels.items[i]
			field := fmt.Sprintf("%s.channels[%d]", l.prefix, l.channels.index[i])
			if _, ok := x.channels[id]; ok {
				x.used[id] = true
				continue
			}
			if len(x.channels) == 0 {
				x.add(item, false, field, "unknown channel %q: no alert_channels are defined", clip(id))
				continue
			}
			x.add(item, false, field, "unknown channel %q%s", clip(id), didYouMean(closest(id, x.channels)))
		}
	}
	for _, w := range fa.windows {
		for i, id := range w.checks.v {
			if !x.checkIDs[id] {
				x.add(w.checks.items[i], true, fmt.Sprintf("%s.checks[%d]", w.prefix(), w.checks.index[i]),
					"no check has id %q%s, so it selects nothing", clip(id), didYouMean(closest(id, x.checkIDs)))
			}
		}
		for i, tag := range w.tags.v {
			if !x.tags[tag] {
				x.add(w.tags.items[i], true, fmt.Sprintf("%s.tags[%d]", w.prefix(), w.tags.index[i]),
					"no check is tagged %q, so it selects nothing", clip(tag))
			}
		}
	}
	if lookup == nil {
		return
	}
	for _, c := range fa.channels {
		for _, s := range c.secrets {
			if _, ok := lookup(s.name); !ok {
				x.add(s.node, true, s.field, "${{ env.%s }} is not set in this environment: channel %q cannot send until the control plane's environment has it",
					s.name, clip(c.cfg.Name))
			}
		}
	}
}

// unused warns of channels no policy names.
func (x *crossFile) unused() {
	for _, c := range x.file.alerting.channels {
		first := x.channels[c.cfg.Name] == place{x.file.alerting.file, lineOf(c.idNode)}
		if c.idNode != nil && c.cfg.Name != "" && !x.used[c.cfg.Name] && first {
			x.add(c.idNode, true, c.prefix()+".id", "channel %q is used by no check (name it in alert_policy.channels or a check's alert.channels)", clip(c.cfg.Name))
		}
	}
}

// closest returns the key of names nearest to s, or "" if none is close.
func closest[V any](s string, names map[string]V) string {
	known := keys{}
	for n := range names {
		known.names = append(known.names, n)
	}
	slices.Sort(known.names)
	guess := suggest(s, known)
	if guess == "" {
		// suggest compares in lower case; ids keep theirs.
		for _, n := range known.names {
			if strings.EqualFold(n, s) {
				return n
			}
		}
	}
	return guess
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}
