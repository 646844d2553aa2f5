package process

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Resolve finds the binary repo-tag and pins it by content (see the
// package documentation for the layout and the pull policies).
func (rt *Runtime) Resolve(_ context.Context, repo, tag string, pull runtime.PullPolicy) (runtime.Image, error) {
	if repo == "" || tag == "" || strings.ContainsAny(tag, "/\x00") {
		return runtime.Image{}, fmt.Errorf("resolve %q tag %q: %w: want a path prefix and a tag without '/'", repo, tag, runtime.ErrImageNotFound)
	}
	abs, err := filepath.Abs(repo)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: %w", repo, err)
	}
	ref := abs + ":" + tag
	if rt.readOnly {
		return runtime.Image{}, errReadOnly
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	tags, err := rt.loadTags()
	if err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	if pull != runtime.PullAlways {
		if id, ok := tags[ref]; ok {
			if _, err := os.Stat(rt.imagePath(id)); err == nil {
				return runtime.Image{ID: id, Ref: ref}, nil
			}
		}
		if pull == runtime.PullNever {
			return runtime.Image{}, fmt.Errorf("resolve %s: %w: not in %s and the pull policy is never", ref, runtime.ErrImageNotFound, rt.imagesDir())
		}
	}
	id, err := rt.store(abs + "-" + tag)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	tags[ref] = id
	b, _ := json.MarshalIndent(tags, "", "  ")
	if err := writeFileAtomic(rt.tagsPath(), b, 0o600); err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: record tag: %w", ref, err)
	}
	return runtime.Image{ID: id, Ref: ref}, nil
}

// store copies the executable at path into the image store under its
// content hash and returns the id.
func (rt *Runtime) store(path string) (runtime.ImageID, error) {
	src, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no file %s", runtime.ErrImageNotFound, path)
	}
	if err != nil {
		return "", err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is not an executable file (%s)", runtime.ErrImageNotFound, path, st.Mode())
	}
	tmp, err := os.CreateTemp(rt.imagesDir(), ".pull*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		tmp.Close()
		return "", fmt.Errorf("copy %s: %w", path, err)
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	id := runtime.ImageID("sha256:" + hex.EncodeToString(h.Sum(nil)))
	if _, err := os.Stat(rt.imagePath(id)); err == nil {
		return id, nil // already stored: same bits
	}
	if err := os.Rename(tmp.Name(), rt.imagePath(id)); err != nil {
		return "", err
	}
	return id, nil
}

func (rt *Runtime) loadTags() (map[string]runtime.ImageID, error) {
	tags := map[string]runtime.ImageID{}
	b, err := os.ReadFile(rt.tagsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return tags, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, fmt.Errorf("%s: %w", rt.tagsPath(), err)
	}
	return tags, nil
}

func (rt *Runtime) tagsPath() string { return filepath.Join(rt.imagesDir(), "tags.json") }

// imagePath is where the binary of id is stored.
func (rt *Runtime) imagePath(id runtime.ImageID) string {
	hexID, _ := strings.CutPrefix(string(id), "sha256:")
	return filepath.Join(rt.imagesDir(), "sha256-"+filepath.Base(hexID))
}

// startTicks is the start time of process pid in clock ticks since boot.
func startTicks(pid int) (uint64, error) {
	t, _, err := procStat(pid)
	return t, err
}

// procStat reads the start time and whether pid is a zombie from
// /proc/<pid>/stat.
func procStat(pid int) (ticks uint64, zombie bool, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22, f[19].
	if len(f) < 20 {
		return 0, false, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ticks, err = strconv.ParseUint(f[19], 10, 64)
	return ticks, f[0] == "Z" || f[0] == "X", err
}
