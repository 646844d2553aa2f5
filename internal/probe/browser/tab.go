package browser

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// tab is a fresh browser context (Target.createBrowserContext: no cookies,
// storage or cache shared with any other) with its one page, made for one
// check and disposed of after it.
type tab struct {
	inst    *instance
	ctx     context.Context    // chromedp context of the page
	cancel  context.CancelFunc // closes the page and disposes of its browser context
	target  *chromedp.Target
	session *session
	width   int // the viewport set, 0 before any
	height  int
	done    chan struct{} // closed once the check that took it has ended and it is disposed of
}

// primeTimeout bounds the proxy handshake of a new tab.
const primeTimeout = 10 * time.Second

// prepareTab makes a tab on inst, ready for a check: its browser context
// exists, its page is attached, and Chromium holds its proxy credentials.
func (p *Prober) prepareTab(ctx context.Context, inst *instance) (*tab, error) {
	sess := p.proxy.newSession()
	tctx, tcancel := chromedp.NewContext(inst.ctx, chromedp.WithNewBrowserContext(func(params *target.CreateBrowserContextParams) {
		// The same proxy as the command line's: set here too, so a context
		// can never fall back to a direct connection.
		params.ProxyServer = p.proxy.url()
		params.ProxyBypassList = "<-loopback>"
	}))
	t := &tab{inst: inst, ctx: tctx, cancel: tcancel, session: sess, done: make(chan struct{})}
	// The first Run binds the page's life to the context it is given, so it
	// gets tctx itself and ctx only bounds the wait.
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(tctx) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		tcancel()
		<-errc
		err = ctx.Err()
	}
	if err == nil {
		t.target = chromedp.FromContext(tctx).Target
		err = t.quiet(ctx)
	}
	if err == nil {
		err = t.prime(ctx)
	}
	if err == nil {
		err = t.setViewport(ctx, defaultViewportWidth, defaultViewportHeight)
	}
	if err != nil {
		p.disposeTab(t)
		return nil, fmt.Errorf("open a browser context: %w", err)
	}
	return t, nil
}

// quiet turns off the DOM and CSS domains chromedp enables for its element
// queries, which the prober does not use (its steps query the page with
// JavaScript): they have the renderer report every node and stylesheet.
func (t *tab) quiet(ctx context.Context) error {
	if _, err := cdp.Call(ctx, t.target, css.Disable, cdp.Empty{}); err != nil {
		return fmt.Errorf("disable CSS events: %w", err)
	}
	if _, err := cdp.Call(ctx, t.target, dom.Disable, cdp.Empty{}); err != nil {
		return fmt.Errorf("disable DOM events: %w", err)
	}
	return nil
}

// prime makes the page request the proxy's own host once, answering the
// proxy's 407 with the session's credentials through Fetch.authRequired.
// Chromium then sends them with every later request of this browser context
// (pages, workers, frames, websockets) without asking, so the interception
// is turned off again and costs the check nothing.
func (t *tab) prime(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, primeTimeout)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, below, ends the loops
	defer cancel()
	auth := cdp.Events(ctx, t.target, fetch.AuthRequired)
	paused := cdp.Events(ctx, t.target, fetch.RequestPaused)
	wg.Go(func() {
		for ev, err := range auth {
			if err != nil {
				return
			}
			_, _ = cdp.Call(ctx, t.target, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{
				RequestID: ev.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{
					Response: fetch.AuthChallengeResponseResponseProvideCredentials,
					Username: t.session.id, Password: t.session.secret,
				},
			})
		}
	})
	wg.Go(func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = cdp.Call(ctx, t.target, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	})
	yes := true
	if _, err := cdp.Call(ctx, t.target, fetch.Enable, fetch.EnableParams{
		HandleAuthRequests: &yes,
		Patterns:           []*fetch.RequestPattern{{URLPattern: "http://" + primeHost + "/*"}},
	}); err != nil {
		return fmt.Errorf("enable request interception: %w", err)
	}
	expr := fmt.Sprintf(`fetch("http://%s/prime", {mode: "no-cors", cache: "no-store"}).then(() => true, () => false)`, primeHost)
	if _, err := evaluate[bool](ctx, t.target, expr); err != nil {
		return fmt.Errorf("proxy handshake: %w", err)
	}
	select {
	case <-t.session.primed:
	case <-ctx.Done():
		return fmt.Errorf("proxy handshake: the proxy never saw the credentials: %w", ctx.Err())
	}
	if _, err := cdp.Call(ctx, t.target, fetch.Disable, cdp.Empty{}); err != nil {
		return fmt.Errorf("disable request interception: %w", err)
	}
	return nil
}

// setViewport sizes the page, unless it has that size already.
func (t *tab) setViewport(ctx context.Context, w, h int) error {
	if t.width == w && t.height == h {
		return nil
	}
	if _, err := chromedp.EmulateViewport(int64(w), int64(h))(ctx, t.target); err != nil {
		return fmt.Errorf("set the viewport to %dx%d: %w", w, h, err)
	}
	t.width, t.height = w, h
	return nil
}

// disposeTab closes the page, disposes of its browser context (cookies,
// storage, cache) and forgets its proxy session.
func (p *Prober) disposeTab(t *tab) {
	t.cancel()
	p.proxy.endSession(t.session)
	close(t.done)
}

// takeTab returns a spare tab of inst: one ready, or the one a filler is
// making (two made at once only slow each other down), or, if none is
// being made, one made now.
func (p *Prober) takeTab(ctx context.Context, inst *instance) (*tab, error) {
	select {
	case t := <-inst.spares:
		return t, nil
	default:
	}
	if inst.preparing.Load() > 0 {
		select {
		case t := <-inst.spares:
			return t, nil
		case <-inst.fillStop:
			// The fillers stopped (the browser retires): make it here.
		case <-inst.lost:
			return nil, errors.New("open a browser context: " + inst.lostWhy)
		case <-ctx.Done():
			return nil, fmt.Errorf("open a browser context: %w", ctx.Err())
		}
	}
	return p.prepareTab(ctx, inst)
}

// startFilling starts SpareTabs goroutines that each keep one prepared tab
// on offer on inst.spares until stopFilling.
func (p *Prober) startFilling(inst *instance) {
	ctx, cancel := context.WithCancel(context.Background())
	inst.fillCancel, inst.fillStop = cancel, ctx.Done()
	inst.fillDone = make(chan struct{})
	var wg sync.WaitGroup
	for range p.opts.SpareTabs {
		wg.Go(func() { p.fill(ctx, inst) })
	}
	go func() { wg.Wait(); close(inst.fillDone) }()
}

// fill keeps one spare tab on offer. Once a check has taken it, fill waits
// for that check to end before it makes the next, so that making it does
// not slow the check down.
func (p *Prober) fill(ctx context.Context, inst *instance) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil && !inst.isLost() {
		inst.preparing.Add(1)
		t, err := p.prepareTab(ctx, inst)
		inst.preparing.Add(-1)
		if err != nil {
			if ctx.Err() != nil || inst.isLost() {
				return
			}
			p.log.Debug().Err(err).Int("browser", inst.gen).Msg("could not prepare a spare tab")
			select {
			case <-time.After(wait):
				wait = min(wait*2, 5*time.Second)
			case <-ctx.Done():
			}
			continue
		}
		wait = 100 * time.Millisecond
		inst.ready.Add(1)
		select {
		case inst.spares <- t:
			inst.ready.Add(-1)
		case <-ctx.Done():
			inst.ready.Add(-1)
			p.disposeTab(t)
			return
		case <-inst.lost:
			inst.ready.Add(-1)
			p.disposeTab(t)
			return
		}
		select {
		case <-t.done:
		case <-ctx.Done():
		case <-inst.lost:
		}
	}
}

// stopFilling ends the fillers and waits for them; the tabs they held are
// disposed of.
func (inst *instance) stopFilling() {
	inst.fillCancel()
	<-inst.fillDone
}
