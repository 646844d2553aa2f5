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
	"strings"

	"github.com/checkfleet/checkfleet/internal/durable"
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
	tags, err := rt.images.loadTags()
	if err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	if pull != runtime.PullAlways {
		if id, ok := tags[ref]; ok {
			if _, err := os.Stat(rt.images.path(id)); err == nil {
				return runtime.Image{ID: id, Ref: ref}, nil
			}
		}
		if pull == runtime.PullNever {
			return runtime.Image{}, fmt.Errorf("resolve %s: %w: not in %s and the pull policy is never", ref, runtime.ErrImageNotFound, rt.images.dir)
		}
	}
	id, err := rt.images.store(abs + "-" + tag)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	tags[ref] = id
	if err := rt.images.saveTags(tags); err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: record tag: %w", ref, err)
	}
	return runtime.Image{ID: id, Ref: ref}, nil
}

// images are the image store, DIR/images: each image a read-only copy of
// an executable named by its content hash, sha256-<hex>, and tags.json
// recording which id each repo:tag resolved to.
type images struct {
	dir string
}

// store copies the executable at path into the image store under its
// content hash and returns the id.
func (is images) store(path string) (runtime.ImageID, error) {
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
	// Written under a temporary name, named by its hash once copied.
	tmp, err := durable.Create(filepath.Join(is.dir, "pull"), 0o555)
	if err != nil {
		return "", err
	}
	defer tmp.Close() // discards it unless committed
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		return "", fmt.Errorf("copy %s: %w", path, err)
	}
	id := runtime.ImageID("sha256:" + hex.EncodeToString(h.Sum(nil)))
	if _, err := os.Stat(is.path(id)); err == nil {
		return id, nil // already stored: same bits
	}
	if err := tmp.CommitAs(is.path(id)); err != nil {
		return "", err
	}
	return id, nil
}

// loadTags reads which id each repo:tag resolved to.
func (is images) loadTags() (map[string]runtime.ImageID, error) {
	tags := map[string]runtime.ImageID{}
	b, err := os.ReadFile(is.tagsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return tags, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, fmt.Errorf("%s: %w", is.tagsPath(), err)
	}
	return tags, nil
}

// saveTags replaces tags.json with tags.
func (is images) saveTags(tags map[string]runtime.ImageID) error {
	b, _ := json.MarshalIndent(tags, "", "  ")
	return durable.WriteFile(is.tagsPath(), b, 0o600)
}

func (is images) tagsPath() string { return filepath.Join(is.dir, "tags.json") }

// path is where the binary of id is stored.
func (is images) path(id runtime.ImageID) string {
	hexID, _ := strings.CutPrefix(string(id), "sha256:")
	return filepath.Join(is.dir, "sha256-"+filepath.Base(hexID))
}
