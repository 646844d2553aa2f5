// Command fakeworker stands in for the worker in runtime and supervisor
// tests: it serves /healthz, /readyz and /metrics on
// CHECKFLEET_HEALTH_LISTEN like `worker run` does, and misbehaves as its
// build says (-ldflags "-X main.mode=MODE"):
//
//	ok           ready at once; SIGTERM: /readyz says draining, exit 0
//	exit         exit 3 at once
//	never-ready  /readyz answers 503 forever; SIGTERM: exit 0
//	ready-slots  ready only when CHECKFLEET_ID names a slot in main.arg
//	             ("-slot1-" for -X main.arg=0,1), else like never-ready
//	exit-after   like ok, but exits 3 once it has run main.arg (a Go
//	             duration): a worker that gets ready, then crashes
//
// FAKE_IGNORE_TERM=1 makes it ignore SIGTERM (only SIGKILL ends it).
// FAKE_DRAIN=1s makes a drain take that long before exiting.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	mode    = "ok"
	arg     = ""
	version = "fake"
)

func main() {
	fmt.Fprintf(os.Stderr, "fakeworker %s mode %s id %s\n", version, mode, os.Getenv("CHECKFLEET_ID"))
	if mode == "exit" {
		fmt.Fprintln(os.Stderr, "fakeworker: exiting at once, as built")
		os.Exit(3)
	}
	ready := mode == "ok" || mode == "exit-after"
	if mode == "exit-after" {
		after, err := time.ParseDuration(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakeworker: exit-after:", err)
			os.Exit(2)
		}
		time.AfterFunc(after, func() {
			fmt.Fprintf(os.Stderr, "fakeworker: exiting after %s, as built\n", after)
			os.Exit(3)
		})
	}
	if mode == "ready-slots" {
		for _, s := range strings.Split(arg, ",") {
			if strings.Contains(os.Getenv("CHECKFLEET_ID"), "-slot"+s+"-") {
				ready = true
			}
		}
	}
	var draining atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case draining.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: draining")
		case !ready:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: built never to be ready")
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# TYPE checkfleet_worker_checks_total counter")
		fmt.Fprintln(w, `checkfleet_worker_checks_total{status="passed",type="api"} 0`)
	})
	addr := os.Getenv("CHECKFLEET_HEALTH_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeworker:", err)
		os.Exit(1)
	}
	go func() { _ = http.Serve(ln, mux) }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	for range sigs {
		if os.Getenv("FAKE_IGNORE_TERM") == "1" {
			fmt.Fprintln(os.Stderr, "fakeworker: ignoring SIGTERM")
			continue
		}
		draining.Store(true)
		if d, err := time.ParseDuration(os.Getenv("FAKE_DRAIN")); err == nil {
			time.Sleep(d) // the drain's duration, as configured
		}
		fmt.Fprintln(os.Stderr, "fakeworker: drained")
		os.Exit(0)
	}
}
