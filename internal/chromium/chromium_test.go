package chromium

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(exe); err != nil || got != exe {
		t.Errorf("Find(%s) = %q, %v; want the path itself", exe, got, err)
	}
	t.Setenv("PATH", dir)
	if got, err := Find(""); err != nil || got != exe {
		t.Errorf("Find(\"\") with %s in PATH = %q, %v", exe, got, err)
	}

	_, err := Find("/nonexistent/chromium")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "/nonexistent/chromium") {
		t.Errorf("Find(/nonexistent/chromium) = %v, want ErrNotFound naming the path", err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err = Find("")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), strings.Join(ExecNames, ", ")) {
		t.Errorf("Find(\"\") with an empty PATH = %v, want ErrNotFound naming %v", err, ExecNames)
	}
}
