package browser

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/chromium"
	"github.com/checkfleet/checkfleet/internal/netguard"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// needChromium fails the test in CI and skips it elsewhere when no
// Chromium is installed.
func needChromium(t testing.TB) {
	t.Helper()
	_, err := chromium.Find("")
	testenv.Require(t, err, "install Debian's chromium (apt-get install chromium)")
}

// loopback allows the test servers.
var loopback = netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// startProber starts a prober for the test, waits until its browser
// answers, and at cleanup closes it and checks that no Chromium process of
// it is left, alive or zombie.
func startProber(t testing.TB, tweak func(*Options)) (*Prober, *prometheus.Registry) {
	t.Helper()
	needChromium(t)
	reg := prometheus.NewRegistry()
	o := Options{Policy: loopback, Registerer: reg, Log: testLogger(t)}
	if tweak != nil {
		tweak(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := leftovers(p.root); len(left) > 0 {
			t.Errorf("processes left after Close: %v", left)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return p, reg
}

// testLogger writes the prober's warnings and errors to the test log.
func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// leftover is a process a prober left behind.
type leftover struct {
	pid    int
	name   string
	zombie bool
	info   procInfo
}

func (l leftover) String() string {
	if l.zombie {
		return fmt.Sprintf("%d %s (zombie)", l.pid, l.name)
	}
	return fmt.Sprintf("%d %s", l.pid, l.name)
}

// leftovers lists the processes of a prober whose directory is root: any
// live process naming root in its command line, and any zombie this
// process adopted and did not reap.
func leftovers(root string) []leftover {
	self := os.Getpid()
	var out []leftover
	for _, st := range processes() {
		l := leftover{pid: st.pid, name: st.comm, zombie: st.state == 'Z', info: st}
		if (l.zombie && st.ppid == self) || (!l.zombie && st.cmdlineHas(root)) {
			out = append(out, l)
		}
	}
	return out
}

// browserCheck is a browser check of the given steps.
func browserCheck(id string, timeout time.Duration, steps ...check.Step) check.Check {
	return check.Check{ID: id, Name: id, Type: check.TypeBrowser, Timeout: timeout,
		Browser: &check.BrowserSpec{Steps: steps}}
}

// describe renders a result for a failure message.
func describe(r check.Result) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "status %s, error %q, total %v", r.Status, r.Error, r.Timings.Total)
	if r.Browser != nil {
		for i, s := range r.Browser.Steps {
			fmt.Fprintf(&b, "\n  step %d %s %q passed=%v status=%d %v %s", i+1, s.Action, s.Target, s.Passed, s.StatusCode, s.Duration, s.Error)
		}
		for _, c := range r.Browser.ConsoleErrors {
			fmt.Fprintf(&b, "\n  console: %s", c)
		}
		for _, f := range r.Browser.FailedRequests {
			fmt.Fprintf(&b, "\n  failed request: %s %s %d %s", f.Method, f.URL, f.StatusCode, f.Error)
		}
	}
	return b.String()
}

// site is the web application the tests check, on loopback.
type site struct {
	*httptest.Server
	hits chan string // paths requested, when a test wants them
}

func newSite(t testing.TB) *site {
	s := &site{}
	mux := http.NewServeMux()
	page := func(path, html string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, html)
		})
	}
	page("/login", loginPage)
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("user") != "alice" || r.FormValue("password") != "s3cret!pw" {
			http.Redirect(w, r, "/login?failed=1", http.StatusSeeOther)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "alice", Path: "/"})
		http.Redirect(w, r, "/welcome", http.StatusSeeOther)
	})
	mux.HandleFunc("/welcome", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, `<!doctype html><title>Home</title><h1 id="greeting">Welcome, %s</h1>`, c.Value)
	})
	mux.HandleFunc("/cookie", func(w http.ResponseWriter, r *http.Request) {
		seen := "none"
		if c, err := r.Cookie("mark"); err == nil {
			seen = c.Value
		}
		if v := r.URL.Query().Get("set"); v != "" {
			http.SetCookie(w, &http.Cookie{Name: "mark", Value: v, Path: "/", MaxAge: 3600})
		}
		fmt.Fprintf(w, `<!doctype html><title>cookie</title><p id="seen">%s</p><p id="stored"></p>
<script>localStorage.setItem("k", localStorage.getItem("k") || %q); document.getElementById("stored").textContent = localStorage.getItem("k")</script>`,
			seen, r.URL.Query().Get("set"))
	})
	page("/steps", stepsPage)
	page("/noisy", `<!doctype html><title>noisy</title><img src="/missing.png"><p id="ok">ok</p>
<script>console.error("widget failed: %s", "boom"); setTimeout(() => { throw new Error("kaboom") }, 0)</script>`)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d): // the page's response time is what the test is about
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, `<!doctype html><title>slow</title><p id="done">done</p>`)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		if s.hits != nil {
			s.hits <- r.URL.Path
		}
		<-r.Context().Done()
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
		fmt.Fprintf(w, "<title>%d</title>", code)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.hits != nil {
			select {
			case s.hits <- r.URL.Path:
			default:
			}
		}
		http.NotFound(w, r)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

const loginPage = `<!doctype html><title>Sign in</title>
<form method="post" action="/session">
  <label>User <input id="user" name="user"></label>
  <label>Password <input id="password" name="password" type="password"></label>
  <button id="submit" type="submit">Sign in</button>
</form>`

const stepsPage = `<!doctype html><title>Steps page</title>
<input id="name"><textarea id="notes"></textarea><div id="editor" contenteditable="true"></div>
<select id="color"><option value="r">Red</option><option value="g">Green</option><option value="b">Blue</option></select>
<button id="show" onclick="document.getElementById('later').style.display='block'">show</button>
<button id="hide" onclick="document.getElementById('banner').remove()">hide</button>
<p id="later" style="display:none">Now you see me</p><p id="banner">Cookie banner</p>
<p id="out"></p><p id="keys"></p><p id="invisible" style="visibility:hidden">hidden</p>
<script>
  document.getElementById("color").addEventListener("change", e => document.getElementById("out").textContent = "color=" + e.target.value);
  document.getElementById("name").addEventListener("keydown", e => document.getElementById("keys").textContent += e.key + ";");
  document.getElementById("name").addEventListener("change", e => document.getElementById("out").textContent = "name=" + e.target.value);
  setTimeout(() => { const p = document.createElement("p"); p.id = "late"; p.textContent = "arrived"; document.body.append(p) }, 300);
</script>`

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 { return testutil.ToFloat64(c) }
