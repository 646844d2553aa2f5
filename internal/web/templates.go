package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the pages, each templates/<name>.tmpl on top of
// templates/layout.tmpl and templates/parts.tmpl.
var pageNames = []string{"status", "check", "result", "message", "fleet"}

// parsePages parses every page with the shared layout and parts.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.tmpl", "templates/parts.tmpl")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".tmpl")
		if err != nil {
			return nil, fmt.Errorf("web: parse page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// funcs are what the templates call.
var funcs = template.FuncMap{
	"duration":    fmtDuration,
	"time":        fmtTime,
	"ago":         fmtAgo,
	"stateClass":  func(s State) string { return strings.ReplaceAll(string(s), "_", "-") },
	"statusClass": statusClass,
	"statusLabel": statusLabel,
	"statusState": stateOfStatus,
	"css":         func() string { return cssPath },
	"resultHref":  resultPagePath,
	"agoResult":   lastResultAgo,
	"num":         num,
	"date":        func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"msDuration":  func(ms int64) string { return fmtDuration(time.Duration(ms) * time.Millisecond) },
}

// statusLabel is a result status as a person reads it.
func statusLabel(s check.Status) string {
	switch s {
	case check.StatusPassed:
		return "Passed"
	case check.StatusDegraded:
		return "Degraded"
	case check.StatusFailed:
		return "Failed"
	case check.StatusError:
		return "Error"
	}
	return string(s)
}

// cssPath is the stylesheet's URL, versioned by its content so that it can
// be cached for good.
var cssPath = func() string {
	b, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		panic(err) // embedded at build time; cannot be missing
	}
	sum := sha256.Sum256(b)
	return "/static/style.css?v=" + hex.EncodeToString(sum[:6])
}()

// serveStatic serves the embedded stylesheet and icons.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	_, _ = w.Write(b)
}
