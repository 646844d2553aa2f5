// Package chromium finds the Chromium binary browser checks run in. It uses
// the standard library only, so what needs no more than to know whether
// Chromium is there (`scheduler dev`, which starts workers without browser
// checks when it is not; tests that skip without it) does not link the
// browser prober and chromedp. The browser prober finds its binary here too,
// so both agree on what "installed" means.
package chromium

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ExecNames are the programs Find looks up in PATH when it is given no
// path, in order.
var ExecNames = []string{"chromium", "chromium-browser", "google-chrome"}

// ErrNotFound is returned by Find when no Chromium binary is found.
var ErrNotFound = errors.New("no Chromium found")

// Find returns path if it is set and executable, or the first of ExecNames
// found in PATH. Its errors wrap ErrNotFound and say what was looked for.
func Find(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w at %s: %v", ErrNotFound, path, err)
		}
		return p, nil
	}
	for _, name := range ExecNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s is in PATH (install Debian's chromium package)",
		ErrNotFound, strings.Join(ExecNames, ", "))
}
