package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, durably: after it returns, path holds
// data with permissions perm even across a crash, and a crash before it
// returns leaves path as it was.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// File is the new content of a file being written. Nothing is visible
// under the final name until Commit; Close discards what was not committed.
type File struct {
	f      *os.File
	path   string
	closed bool
}

// Create starts replacing path: it creates a temporary file with
// permissions perm in path's directory, to be written and then committed.
func Create(path string, perm fs.FileMode) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	// CreateTemp's 0600 is subject to no umask; perm is set exactly.
	if err := f.Chmod(perm); err != nil {
		return nil, errors.Join(fmt.Errorf("create %s: %w", path, err), f.Close(), os.Remove(f.Name()))
	}
	return &File{f: f, path: path}, nil
}

// Write writes p to the new content.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", f.path, err)
	}
	return n, nil
}

// Commit makes the content written so far the content of the file's path,
// durably: fsync, close, rename, fsync of the directory. The File is closed
// whether or not it succeeds.
func (f *File) Commit() error { return f.CommitAs(f.path) }

// CommitAs is Commit under another name in the same directory, for a name
// known only once the content is written (a digest of it).
func (f *File) CommitAs(path string) error {
	if f.closed {
		return fmt.Errorf("commit %s: %w", path, os.ErrClosed)
	}
	if filepath.Dir(path) != filepath.Dir(f.path) {
		f.Close()
		return fmt.Errorf("commit %s: not in the directory of %s", path, f.path)
	}
	f.closed = true
	tmp := f.f.Name()
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("commit %s: %w", path, err), os.Remove(tmp))
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("commit %s: %w", path, err)
	}
	return nil
}

// Close discards the content unless it was committed; after Commit it does
// nothing, so it can be deferred.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	return errors.Join(f.f.Close(), os.Remove(f.f.Name()))
}

// SyncDir fsyncs the directory dir, making the creations, renames and
// removals of names in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("sync directory %s: %w", dir, err), d.Close())
	}
	return d.Close()
}
