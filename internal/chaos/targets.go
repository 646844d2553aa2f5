package chaos

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Targets are the loopback servers the checks of the load watch: a well
// behaved site (fast, slow and failing pages, pages for browser checks)
// and a hostile one that answers what the HTTP stack or SQS chokes on.
type Targets struct {
	// Site is the base URL of the well behaved site.
	Site string
	// Hostile is the base URL of the hostile one.
	Hostile string
	// Closed is a loopback URL nothing listens on (connection refused).
	Closed string
}

// StartTargets serves the targets until the test ends.
func StartTargets(t testing.TB) Targets {
	t.Helper()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(4 * time.Second): // the check's duration, not synchronisation
			case <-r.Context().Done():
			}
			fmt.Fprintln(w, "slow")
		case "/fail":
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
		case "/page":
			fmt.Fprint(w, `<!doctype html><title>Chaos</title><h1 id="hello">Hello</h1>`)
		default:
			fmt.Fprintln(w, "ok")
		}
	}))
	t.Cleanup(site.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	return Targets{Site: site.URL, Hostile: startHostile(t), Closed: "http://" + closed + "/"}
}

// hostileAnswers are raw HTTP responses by path (issue 11, item 3): a
// status line out of range, and text SQS refuses to carry in a header and
// in the body.
var hostileAnswers = map[string]string{
	"/status000":  "HTTP/1.1 000 Zero\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
	"/status099":  "HTTP/1.1 099 Low\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
	"/body-fffe":  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbad \uFFFE\x00!",
	"/header-fff": "HTTP/1.1 200 OK\r\nX-Chaos: bad \uFFFF value\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
}

// HostilePaths are the paths of the hostile target.
func HostilePaths() []string {
	return []string{"/status000", "/status099", "/body-fffe", "/header-fff"}
}

// startHostile serves hostileAnswers on a raw TCP listener (net/http
// refuses to write such responses) until the test ends.
func startHostile(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			conns.Go(func() { answerHostile(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return "http://" + ln.Addr().String()
}

func answerHostile(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	resp, ok := hostileAnswers[req.URL.Path]
	if !ok {
		resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	}
	_, _ = c.Write([]byte(resp))
}
