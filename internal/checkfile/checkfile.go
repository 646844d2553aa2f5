package checkfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/checkfleet/checkfleet/internal/check"
)

// MaxFileSize is the largest checks file Load and Parse read. Ten thousand
// checks fit in a few MiB; anything bigger is a mistake or an attack.
const MaxFileSize = 10 << 20

// maxProblems caps how many problems one Error lists; the rest are counted.
const maxProblems = 1000

// Error lists everything wrong with a checks file or folder. Load and Parse
// return it (as error) for any problem with the files' content; failing to
// read a file is an ordinary wrapped error instead.
type Error struct {
	// Problems are ordered by file (in the order read), then line and
	// column. There is at least one that is not a Warning; LoadAlerting and
	// ParseAlerting list their warnings among them.
	Problems []Problem
	// Omitted counts problems found beyond the first 1000, which are not
	// listed.
	Omitted int
}

// Error renders one problem per line, as `scheduler validate` prints them.
func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	if e.Omitted > 0 {
		lines = append(lines, fmt.Sprintf("... and %d more problems", e.Omitted))
	}
	return strings.Join(lines, "\n")
}

// Problem is one thing wrong at one place in a checks file.
type Problem struct {
	// File is the file's name as given to Parse, or its path under the
	// folder given to Load.
	File string
	// Line and Column are 1-based; zero when the problem is with the file
	// as a whole (empty, too large).
	Line, Column int
	// Field is the path of the offending key in checks.yaml terms
	// ("request.url", "steps[2].selector", "defaults.timeout"); empty when
	// the message names the place itself (unknown and duplicate fields,
	// YAML syntax).
	Field string
	// Message says what is wrong.
	Message string
	// Warning marks what may be intended but deserves a look (a maintenance
	// window that selects no check, a secret variable not set where the
	// file is validated). Only LoadAlerting and ParseAlerting report
	// warnings; they never make a file fail to load.
	Warning bool
}

// String renders the problem as `file:line: field: message`, leaving out
// the parts that are not set; a warning as `file:line: warning: field:
// message`.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Load reads the checks at path: one file, or every *.yaml and *.yml file
// under a folder, recursively, in lexical order of their paths (so the
// result is the same on every machine). Names starting with "." (.git,
// editor swap files) are skipped at every level. A check id must be unique
// across all the files.
//
// It returns every problem found in every file as an *Error, or a wrapped
// I/O error if a file cannot be read.
//
// The alerting keys (alert_channels, alert_policy, maintenance, a check's
// alert) are accepted and not read: LoadAlerting reads them.
func Load(path string) ([]check.Check, error) {
	parsed, err := load(path, false)
	if err != nil {
		return nil, err
	}
	checks, _, err := collect(parsed)
	return checks, err
}

// Parse reads one checks file held in memory; name is used in problems.
// It returns every problem as an *Error.
func Parse(name string, data []byte) ([]check.Check, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{Problems: []Problem{tooLarge(name, int64(len(data)))}}
	}
	checks, _, err := collect([]parsedFile{parseFile(name, data, false)})
	return checks, err
}

// load reads and parses every file at path; with alerting, their
// alerting keys too.
func load(path string, alerting bool) ([]parsedFile, error) {
	files, err := listFiles(path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return []parsedFile{{problems: []Problem{{File: path, Message: "no *.yaml or *.yml files in the folder"}}}}, nil
	}
	var parsed []parsedFile
	for _, name := range files {
		data, problem, err := readFile(name)
		if err != nil {
			return nil, err
		}
		if problem != nil {
			parsed = append(parsed, parsedFile{problems: []Problem{*problem}})
			continue
		}
		parsed = append(parsed, parseFile(name, data, alerting))
	}
	return parsed, nil
}

// parsedFile is one file's checks, or what is wrong with it.
type parsedFile struct {
	entries  []*entry
	problems []Problem // warnings among them
	// alerting is what the file's alerting keys say; nil unless they
	// were read.
	alerting *fileAlerting
}

// collect checks ids across files and turns problems into an *Error, or
// returns the checks and the warnings.
func collect(files []parsedFile) ([]check.Check, []Problem, error) {
	type first struct {
		file string
		line int
	}
	seen := map[string]first{}
	for i := range files {
		f := &files[i]
		for _, e := range f.entries {
			id := e.check.ID
			if id == "" || e.idNode == nil {
				continue
			}
			here := first{e.file, e.idNode.Line}
			if prev, ok := seen[id]; ok {
				f.problems = append(f.problems, Problem{
					File: e.file, Line: here.line, Column: e.idNode.Column, Field: "id",
					Message: fmt.Sprintf("duplicate id %q, first defined at %s:%d", id, prev.file, prev.line),
				})
				continue
			}
			seen[id] = here
		}
	}
	var problems []Problem
	failed := false
	for _, f := range files {
		ps := slices.Clone(f.problems)
		slices.SortStableFunc(ps, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		// A problem inside an anchor is met again at every alias of it.
		problems = append(problems, slices.Compact(ps)...)
		failed = failed || slices.ContainsFunc(ps, func(p Problem) bool { return !p.Warning })
	}
	if failed {
		e := &Error{Problems: problems}
		if len(problems) > maxProblems {
			e.Problems, e.Omitted = problems[:maxProblems], len(problems)-maxProblems
		}
		return nil, nil, e
	}
	var checks []check.Check
	for _, f := range files {
		for _, e := range f.entries {
			checks = append(checks, e.check)
		}
	}
	return checks, problems, nil
}

// listFiles returns path itself if it is a file, or the checks files under
// it if it is a folder.
func listFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load checks: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// WalkDir does not follow links; a link to a file is read, a link
			// to anything else is not a checks file.
			if fi, err := os.Stat(name); err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		files = append(files, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load checks from %s: %w", path, err)
	}
	return files, nil
}

// readFile reads a checks file up to MaxFileSize. A file over the cap is a
// problem with the file, not an I/O error.
func readFile(name string) ([]byte, *Problem, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("load checks: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("load checks: read %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		size := int64(len(data))
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		p := tooLarge(name, size)
		return nil, &p, nil
	}
	return data, nil, nil
}

func tooLarge(name string, size int64) Problem {
	return Problem{File: name, Message: fmt.Sprintf("file is %d bytes, more than the %d MiB a checks file may have", size, MaxFileSize>>20)}
}

// syntaxProblem turns a YAML parse error into a problem with its position.
func syntaxProblem(name string, err error) Problem {
	p := Problem{File: name}
	var le *yaml.LoadError
	if errors.As(err, &le) {
		p.Line, p.Column = le.Mark.Line, le.Mark.Column
		p.Message = "invalid YAML: " + le.Message
		return p
	}
	p.Message = "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
	return p
}

// decodeDocument parses data as exactly one YAML document.
func decodeDocument(name string, data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Problem{File: name, Message: emptyFile}
		}
		p := syntaxProblem(name, err)
		return nil, &p
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Problem{File: name, Line: next.Line, Column: next.Column,
			Message: "a second YAML document (---); put all checks in one document, or split them into files in a folder"}
	case !errors.Is(err, io.EOF):
		p := syntaxProblem(name, err)
		return nil, &p
	}
	return &doc, nil
}

const emptyFile = "file is empty: want a mapping with checks: (and optional defaults:) or a list of checks"
