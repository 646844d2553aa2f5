package devstack

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
)

// DemoTargets is the little web site examples/checks.yaml monitors, served
// by `scheduler dev` on loopback so the demo needs no network (the recorded
// sample history the web tests render is package web/samplefleet). Some of its
// pages misbehave on purpose, so the status page shows every state:
//
//	/             an HTML home page
//	/api/health   JSON {"status": "ok", "version": ..., "checks": {...}}
//	/slow         answers after SlowDelay (degraded, or failed against a tight SLA)
//	/flaky        fails every third request with a 503
//	/login        a login form leading to /dashboard, whose h1 says "Welcome"
//	/checkout     a checkout whose payment is always declined (a failing browser check)
type DemoTargets struct {
	// SlowDelay is how long /slow takes.
	SlowDelay time.Duration
	flaky     atomic.Int64
}

// Handler serves the demo site.
func (d *DemoTargets) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.page("Home", `<h1>checkfleet demo</h1><p>A site for the demo checks to watch.</p>`))
	mux.HandleFunc("GET /api/health", d.health)
	mux.HandleFunc("GET /slow", d.slow)
	mux.HandleFunc("GET /flaky", d.flakyPage)
	mux.HandleFunc("GET /login", d.page("Login", loginForm))
	mux.HandleFunc("POST /login", d.login)
	mux.HandleFunc("GET /dashboard", d.dashboard)
	mux.HandleFunc("GET /checkout", d.page("Checkout", checkoutPage))
	return mux
}

const loginForm = `<h1>Sign in</h1>
<form method="post" action="/login">
  <label>Email <input id="email" name="email" type="email" required></label>
  <label>Password <input id="password" name="password" type="password" required></label>
  <button type="submit">Sign in</button>
</form>`

const checkoutPage = `<h1>Checkout</h1>
<p>One checkfleet T-shirt, € 25,00</p>
<button id="pay" onclick="document.getElementById('status').textContent='Payment declined: card expired'">Pay now</button>
<p id="status" role="status"></p>`

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}</style></head>
<body>{{.Body}}</body></html>`))

func (d *DemoTargets) page(title, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageTemplate.Execute(w, struct {
			Title string
			Body  template.HTML
		}{title, template.HTML(body)})
	}
}

func (d *DemoTargets) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status":  "ok",
		"version": buildinfo.Version,
		"checks":  map[string]string{"database": "ok", "queue": "ok"},
	})
}

func (d *DemoTargets) slow(w http.ResponseWriter, r *http.Request) {
	select {
	case <-time.After(d.SlowDelay):
	case <-r.Context().Done():
		return
	}
	d.page("Slow", "<h1>Slow, but here</h1>")(w, r)
}

func (d *DemoTargets) flakyPage(w http.ResponseWriter, r *http.Request) {
	if d.flaky.Add(1)%3 == 0 {
		http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		return
	}
	d.page("Flaky", "<h1>Up, this time</h1>")(w, r)
}

func (d *DemoTargets) login(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("email") == "" || r.FormValue("password") == "" {
		http.Error(w, "email and password are required", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "session", Value: "demo", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func (d *DemoTargets) dashboard(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie("session"); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	d.page("Dashboard", fmt.Sprintf("<h1>Welcome</h1><p>Signed in at %s.</p>", time.Now().UTC().Format(time.Kitchen)))(w, r)
}
