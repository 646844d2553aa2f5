package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/store"
)

// A store that does not answer is waited for; one that cannot work fails at
// once.
func TestOpenStoreWaitsOnlyForAnUnavailableStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused

	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = openStore(ctx, "postgres://u:p@"+closed+"/db?connect_timeout=1", zerolog.New(&logs))
	if ctx.Err() == nil {
		t.Fatalf("openStore returned before its context ended: %v", err)
	}
	if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("openStore: %v; want it to have waited for the store", err)
	}
	if n := strings.Count(logs.String(), "store unavailable; waiting for it"); n < 2 {
		t.Errorf("%d attempts logged in 3s, want it to keep trying:\n%s", n, logs.String())
	}

	bad, cancelBad := context.WithTimeout(context.Background(), time.Minute)
	defer cancelBad()
	_, err = openStore(bad, "sqlite://"+t.TempDir()+"/", zerolog.Nop())
	if err == nil || bad.Err() != nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("openStore of a directory: %v; want its own error, at once, not a wait", err)
	}
}
