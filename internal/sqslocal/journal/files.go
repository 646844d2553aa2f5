package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// firstGen is the generation of a journal that has never been snapshotted.
const firstGen = 1

func snapName(gen uint64) string { return fmt.Sprintf("snap-%016x.snap", gen) }
func logName(gen uint64) string  { return fmt.Sprintf("log-%016x.log", gen) }

// dirFile is one of the journal's files found in its directory.
type dirFile struct {
	name string
	kind string // "snap", "log" or "tmp"
	gen  uint64
}

// parseName recognises the journal's own file names; other files in the
// directory are left alone.
func parseName(name string) (dirFile, bool) {
	for _, k := range []struct{ prefix, suffix, kind string }{
		{"snap-", ".snap", "snap"},
		{"log-", ".log", "log"},
		{"snap-", ".tmp", "tmp"},
		{"log-", ".tmp", "tmp"},
	} {
		hex, ok := strings.CutPrefix(name, k.prefix)
		if !ok {
			continue
		}
		hex, ok = strings.CutSuffix(hex, k.suffix)
		if !ok || len(hex) != 16 {
			continue
		}
		gen, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		return dirFile{name: name, kind: k.kind, gen: gen}, true
	}
	return dirFile{}, false
}

// load finds the current generation, checks its files' headers, opens its
// log (creating a first one in a new journal) and removes every other
// generation's files and leftover temporary files.
func (j *Journal) load() error {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("read journal directory: %w", err)
	}
	var files []dirFile
	logs := map[uint64]bool{}
	j.gen = firstGen
	for _, e := range entries {
		f, ok := parseName(e.Name())
		if !ok {
			continue
		}
		files = append(files, f)
		switch f.kind {
		case "snap":
			// The highest snapshot wins: it is renamed into place only
			// once complete, and older generations go only after that.
			if !j.hasSnap || f.gen > j.gen {
				j.gen, j.hasSnap = f.gen, true
			}
		case "log":
			logs[f.gen] = true
		}
	}
	switch {
	case j.hasSnap && !logs[j.gen]:
		return fmt.Errorf("%s has no %s: %w", snapName(j.gen), logName(j.gen), ErrCorrupt)
	case !j.hasSnap && !logs[firstGen] && len(logs) > 0:
		return fmt.Errorf("journal has logs but neither a snapshot nor %s: %w", logName(firstGen), ErrCorrupt)
	}

	if j.hasSnap {
		if err := checkFile(filepath.Join(j.dir, snapName(j.gen)), kindSnapshot, j.gen); err != nil {
			return err
		}
	}
	if logs[j.gen] {
		path := filepath.Join(j.dir, logName(j.gen))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		if err := checkHeader(f, path, kindLog, j.gen); err != nil {
			return errors.Join(err, f.Close())
		}
		j.log = f
	} else {
		f, err := createFile(j.dir, logName(j.gen), appendHeader(nil, kindLog, j.gen))
		if err != nil {
			return err
		}
		if err := syncDir(j.dir); err != nil {
			return errors.Join(err, f.Close())
		}
		j.log = f
	}

	// Only now that the current generation is known to be readable: a
	// directory from a newer version is never cleaned up by this one.
	for _, f := range files {
		if f.gen == j.gen && f.kind != "tmp" {
			continue
		}
		if err := os.Remove(filepath.Join(j.dir, f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errors.Join(fmt.Errorf("remove stale journal file: %w", err), j.log.Close())
		}
	}
	return nil
}

// logPath is the path of the current log. The caller holds ioMu.
func (j *Journal) logPath() string { return filepath.Join(j.dir, logName(j.gen)) }

func checkFile(path string, kind byte, gen uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open journal file: %w", err)
	}
	defer f.Close()
	return checkHeader(f, path, kind, gen)
}

// createFile atomically creates dir/name holding data: it writes and fsyncs
// a temporary file and renames it. The file is returned open for writing at
// its end. The caller must fsync dir to make the name durable.
func createFile(dir, name string, data []byte) (*os.File, error) {
	path := filepath.Join(dir, name)
	tmp := strings.TrimSuffix(path, filepath.Ext(path)) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	fail := func(err error) (*os.File, error) {
		return nil, errors.Join(err, f.Close(), os.Remove(tmp))
	}
	if _, err := f.Write(data); err != nil {
		return fail(fmt.Errorf("write %s: %w", tmp, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", tmp, err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("rename %s: %w", tmp, err))
	}
	return f, nil
}

// createDir creates dir, with its parents, unless it exists. A new dir's
// name is made durable in its parent, or a power loss could take the whole
// journal away.
func createDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create journal directory: %w", err)
	}
	return syncDir(filepath.Dir(filepath.Clean(dir)))
}

// syncDir fsyncs a directory, making creations, renames and removals in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open journal directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("fsync journal directory: %w", err), d.Close())
	}
	return d.Close()
}
