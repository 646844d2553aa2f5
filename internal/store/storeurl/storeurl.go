// Package storeurl opens the store a --store URL names:
//
//	sqlite://./var/checkfleet.db      a file, relative to the working directory
//	sqlite:///var/lib/checkfleet.db   an absolute path
//	sqlite://:memory:                 a private in-memory database (tests)
//	postgres://user:pass@host:5432/db?sslmode=require   (or postgresql://)
//
// For SQLite the directory is created if needed; everything after
// sqlite:// is the path, taken literally (no query parameters). A
// PostgreSQL URL is handed to pgx as it is, so every libpq parameter
// (host=/run/postgresql for a socket, sslmode, ...) and pgxpool's
// pool_max_conns work.
package storeurl

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
)

// Open opens the store rawURL names and migrates its schema. Errors name
// the flag and the URL, with any password left out.
func Open(ctx context.Context, rawURL string) (store.Store, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("--store %q: not a URL; want sqlite://PATH or postgres://HOST/DB", rawURL)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		path, err := sqlitePath(rest)
		if err != nil {
			return nil, fmt.Errorf("--store %q: %w", rawURL, err)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("--store %q: %w", rawURL, err)
		}
		return s, nil
	case "postgres", "postgresql":
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--store %q: malformed PostgreSQL URL: %v", redact(rawURL), strings.ReplaceAll(err.Error(), rawURL, redact(rawURL)))
		}
		shown := u.Redacted()
		s, err := postgres.Open(ctx, rawURL)
		if err != nil {
			return nil, fmt.Errorf("--store %q: %w", shown, err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("--store %q: unknown scheme %q; want sqlite:// or postgres://", redact(rawURL), scheme)
	}
}

// sqlitePath is the path after sqlite://.
func sqlitePath(rest string) (string, error) {
	switch {
	case rest == "":
		return "", fmt.Errorf("no path (want sqlite://./var/checkfleet.db, sqlite:///abs/path.db or sqlite://:memory:)")
	case strings.ContainsAny(rest, "?#"):
		return "", fmt.Errorf("SQLite URLs take no query or fragment")
	case rest == sqlite.Memory:
		return sqlite.Memory, nil
	case strings.HasSuffix(rest, "/"):
		return "", fmt.Errorf("path %q is a directory; name the database file", rest)
	}
	return rest, nil
}

// redact hides the password of anything that looks like user:pass@.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndex(rest, "@")
	if slash := strings.Index(rest, "/"); at < 0 || (slash >= 0 && slash < at) {
		return raw
	}
	userinfo := rest[:at]
	if name, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + name + ":xxxxx" + rest[at:]
	}
	return raw
}
