package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// HealthcheckCommand is `BINARY healthcheck`: it asks a running BINARY's
// health server (GET http://ADDR/readyz, ADDR being the value of its
// listen flag listenFlag, defaultListen unless set) and exits 0 when it
// answers 2xx, 1 saying why otherwise. The flag has the name the serving
// command gives it, so the CHECKFLEET_* variable a container was started
// with points the probe at the right port: the images use it as their
// HEALTHCHECK, having no curl. An unspecified host (":9090", "0.0.0.0")
// is asked on loopback.
func HealthcheckCommand(binary, listenFlag, defaultListen string, stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet(binary+" healthcheck", flag.ContinueOnError)
	listen := fs.String(listenFlag, defaultListen, "address the "+binary+" serves its health endpoints on")
	target := fs.String("url", "", "URL to ask instead (default http://<--"+listenFlag+">/readyz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	return &ffcli.Command{
		Name:       "healthcheck",
		ShortUsage: binary + " healthcheck [--" + listenFlag + " ADDR | --url URL] [--timeout 3s]",
		ShortHelp:  "exit 0 when a running " + binary + " answers ready (the images' HEALTHCHECK)",
		FlagSet:    fs,
		Options:    Options(),
		Exec: NoArgs("healthcheck", func(ctx context.Context) error {
			u := *target
			if u == "" {
				var err error
				if u, err = readyzURL(*listen); err != nil {
					return fmt.Errorf("--%s %q: %w", listenFlag, *listen, err)
				}
			}
			if *timeout <= 0 {
				return fmt.Errorf("--timeout %s: want a positive duration", *timeout)
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			msg, err := probe(ctx, u)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s: %s\n", u, msg)
			return err
		}),
	}
}

// readyzURL is the /readyz URL of a server listening on addr.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/readyz"}).String(), nil
}

// probe GETs u and returns the first line of a 2xx answer's body, or an
// error naming the status and the first line of any other answer's.
func probe(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("healthcheck %s: %w", u, err)
	}
	// A fresh transport, no proxy: the server is local, and HTTP_PROXY in
	// a container's environment must not send the probe elsewhere.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("healthcheck %s: no answer in time", u)
		}
		return "", fmt.Errorf("healthcheck %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("healthcheck %s: %s: %s", u, resp.Status, line)
	}
	return line, nil
}
