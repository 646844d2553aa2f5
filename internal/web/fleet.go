package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/store"
	jsonv2 "github.com/go-json-experiment/json"
)

// Fleet is the control plane's fleet as the API serves it (package
// rollout's Driver): the host side and the operator side.
type Fleet interface {
	Register(ctx context.Context, reg fleetapi.Registration, token, joinToken string) (fleet.Host, error)
	Authenticate(ctx context.Context, id, token string) (fleet.Host, error)
	Heartbeat(ctx context.Context, h fleet.Host, s fleet.HostState) (fleetapi.Desired, error)
	Desired(ctx context.Context, h fleet.Host) (fleetapi.Desired, error)
	HoldTurn(ctx context.Context, h fleet.Host, to fleet.Image) (fleetapi.Turn, error)
	FreeTurn(ctx context.Context, h fleet.Host) error
	Leave(ctx context.Context, h fleet.Host) error
	ReportOutcome(ctx context.Context, h fleet.Host, o fleetapi.Outcome) error

	Deploy(ctx context.Context, req fleetapi.DeployRequest) (fleet.Rollout, error)
	Rollback(ctx context.Context, req fleetapi.RollbackRequest) (fleet.Rollout, error)
	Unify(ctx context.Context, req fleetapi.UnifyRequest) (fleet.Rollout, error)
	Unlock(ctx context.Context, req fleetapi.UnlockRequest) (fleet.Lock, error)
	Remove(ctx context.Context, req fleetapi.RemoveRequest) (fleetapi.Host, error)
	Pause(ctx context.Context, id string, req fleetapi.PauseRequest) (fleetapi.Progress, error)
	Progress(ctx context.Context, id string, after int64, wait time.Duration) (fleetapi.Progress, error)
	Status(ctx context.Context) (fleetapi.Status, error)
	History(ctx context.Context, ring string, limit int) ([]fleet.Rollout, error)
}

func (s *Server) fleetRoutes(api *http.ServeMux) {
	api.HandleFunc("POST /api/v1/fleet/hosts", s.fleetRegister)
	api.HandleFunc("DELETE /api/v1/fleet/hosts/{id}", s.fleetHostDone(func(ctx context.Context, h fleet.Host) error { return s.cfg.Fleet.Leave(ctx, h) }))
	api.HandleFunc("POST /api/v1/fleet/hosts/{id}/heartbeat", s.fleetHeartbeat)
	api.HandleFunc("GET /api/v1/fleet/hosts/{id}/desired", s.fleetDesired)
	api.HandleFunc("POST /api/v1/fleet/hosts/{id}/turn", s.fleetHoldTurn)
	api.HandleFunc("DELETE /api/v1/fleet/hosts/{id}/turn", s.fleetHostDone(func(ctx context.Context, h fleet.Host) error { return s.cfg.Fleet.FreeTurn(ctx, h) }))
	api.HandleFunc("POST /api/v1/fleet/hosts/{id}/outcome", s.fleetOutcome)
	api.HandleFunc("POST /api/v1/fleet/deploy", s.fleetDeploy)
	api.HandleFunc("POST /api/v1/fleet/rollback", s.fleetRollback)
	api.HandleFunc("POST /api/v1/fleet/unify", s.fleetUnify)
	api.HandleFunc("POST /api/v1/fleet/unlock", s.fleetUnlock)
	api.HandleFunc("POST /api/v1/fleet/remove", s.fleetRemove)
	api.HandleFunc("POST /api/v1/fleet/rollouts/{id}/pause", s.fleetPause)
	api.HandleFunc("GET /api/v1/fleet/rollouts/{id}", s.fleetProgress)
	api.HandleFunc("GET /api/v1/fleet/status", s.fleetStatus)
	api.HandleFunc("GET /api/v1/fleet/history", s.fleetHistory)
}

// maxFleetBody bounds a fleet request body.
const maxFleetBody = 1 << 20

func (s *Server) fleetRegister(w http.ResponseWriter, r *http.Request) {
	if !s.fleetOn(w) {
		return
	}
	token, ok := bearer(w, r)
	if !ok {
		return
	}
	var reg fleetapi.Registration
	if !decodeBody(w, r, &reg) {
		return
	}
	if !s.notAnotherHost(w, r, reg.ID, token) {
		return
	}
	h, err := s.cfg.Fleet.Register(r.Context(), reg, token, r.Header.Get(fleetapi.JoinTokenHeader))
	if errors.Is(err, store.ErrUnauthorized) {
		s.log.Warn().Str("fleet_host", reg.ID).Str("remote", r.RemoteAddr).Msg("web: registration refused")
		w.Header().Set("WWW-Authenticate", `Bearer realm="checkfleet", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fleetapi.HostOf(h, s.now(), 0))
}

func (s *Server) fleetHeartbeat(w http.ResponseWriter, r *http.Request) {
	h, ok := s.fleetHost(w, r)
	if !ok {
		return
	}
	var st fleetapi.HostState
	if !decodeBody(w, r, &st) {
		return
	}
	d, err := s.cfg.Fleet.Heartbeat(r.Context(), h, st.Fleet())
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) fleetDesired(w http.ResponseWriter, r *http.Request) {
	h, ok := s.fleetHost(w, r)
	if !ok {
		return
	}
	d, err := s.cfg.Fleet.Desired(r.Context(), h)
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) fleetHoldTurn(w http.ResponseWriter, r *http.Request) {
	h, ok := s.fleetHost(w, r)
	if !ok {
		return
	}
	var req fleetapi.TurnRequest
	if !decodeBody(w, r, &req) {
		return
	}
	t, err := s.cfg.Fleet.HoldTurn(r.Context(), h, req.To.Fleet())
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// fleetHostDone answers a host's request that changes something and says
// nothing back: do for the authenticated host, then 204.
func (s *Server) fleetHostDone(do func(context.Context, fleet.Host) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := s.fleetHost(w, r)
		if !ok {
			return
		}
		if err := do(r.Context(), h); err != nil {
			s.fleetError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) fleetOutcome(w http.ResponseWriter, r *http.Request) {
	h, ok := s.fleetHost(w, r)
	if !ok {
		return
	}
	var o fleetapi.Outcome
	if !decodeBody(w, r, &o) {
		return
	}
	if err := s.cfg.Fleet.ReportOutcome(r.Context(), h, o); err != nil {
		s.fleetError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) fleetDeploy(w http.ResponseWriter, r *http.Request) {
	var req fleetapi.DeployRequest
	if !s.fleetOperator(w, r, &req) {
		return
	}
	s.fleetStarted(w, r)(s.cfg.Fleet.Deploy(r.Context(), req))
}

func (s *Server) fleetRollback(w http.ResponseWriter, r *http.Request) {
	var req fleetapi.RollbackRequest
	if !s.fleetOperator(w, r, &req) {
		return
	}
	s.fleetStarted(w, r)(s.cfg.Fleet.Rollback(r.Context(), req))
}

func (s *Server) fleetUnify(w http.ResponseWriter, r *http.Request) {
	var req fleetapi.UnifyRequest
	if !s.fleetOperator(w, r, &req) {
		return
	}
	s.fleetStarted(w, r)(s.cfg.Fleet.Unify(r.Context(), req))
}

func (s *Server) fleetUnlock(w http.ResponseWriter, r *http.Request) {
	var req fleetapi.UnlockRequest
	if !s.fleetOperator(w, r, &req) {
		return
	}
	l, err := s.cfg.Fleet.Unlock(r.Context(), req)
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fleetapi.LockOf(l))
}

func (s *Server) fleetRemove(w http.ResponseWriter, r *http.Request) {
	var req fleetapi.RemoveRequest
	if !s.fleetOperator(w, r, &req) {
		return
	}
	h, err := s.cfg.Fleet.Remove(r.Context(), req)
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) fleetPause(w http.ResponseWriter, r *http.Request) {
	var req fleetapi.PauseRequest
	if !s.fleetOperator(w, r, &req) {
		return
	}
	p, err := s.cfg.Fleet.Pause(r.Context(), r.PathValue("id"), req)
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) fleetProgress(w http.ResponseWriter, r *http.Request) {
	if !s.fleetOn(w) {
		return
	}
	q := r.URL.Query()
	after := int64(-1)
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("after %q: want a number (the seq of the progress last seen)", v))
			return
		}
		after = n
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait %q: want a duration such as 30s", v))
			return
		}
		wait = d
	}
	p, err := s.cfg.Fleet.Progress(r.Context(), r.PathValue("id"), after, wait)
	if err != nil {
		if r.Context().Err() != nil {
			return // the caller left
		}
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) fleetStatus(w http.ResponseWriter, r *http.Request) {
	if !s.fleetOn(w) {
		return
	}
	st, err := s.cfg.Fleet.Status(r.Context())
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) fleetHistory(w http.ResponseWriter, r *http.Request) {
	if !s.fleetOn(w) {
		return
	}
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a positive number", v))
			return
		}
		limit = n
	}
	rs, err := s.cfg.Fleet.History(r.Context(), q.Get("ring"), limit)
	if err != nil {
		s.fleetError(w, r, err)
		return
	}
	out := fleetapi.History{Rollouts: make([]fleetapi.Rollout, 0, len(rs))}
	for _, ro := range rs {
		out.Rollouts = append(out.Rollouts, fleetapi.RolloutOf(ro))
	}
	writeJSON(w, http.StatusOK, out)
}

// fleetStarted answers a deploy, rollback or unify: 202 with the rollout.
func (s *Server) fleetStarted(w http.ResponseWriter, r *http.Request) func(fleet.Rollout, error) {
	return func(ro fleet.Rollout, err error) {
		if err != nil {
			s.fleetError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/fleet/rollouts/"+ro.ID)
		writeJSON(w, http.StatusAccepted, fleetapi.RolloutOf(ro))
	}
}

// fleetOn answers 404 when the server has no fleet.
func (s *Server) fleetOn(w http.ResponseWriter) bool {
	if s.cfg.Fleet == nil {
		writeError(w, http.StatusNotFound, "this server keeps no fleet")
		return false
	}
	return true
}

// fleetOperator authorizes an operator request and decodes its body.
func (s *Server) fleetOperator(w http.ResponseWriter, r *http.Request, body any) bool {
	return s.fleetOn(w) && s.authorize(w, r) && decodeBody(w, r, body)
}

// fleetHost authenticates the host of the path by its bearer token: 401
// for a wrong token, 403 for the token of another host (named in
// fleetapi.HostHeader).
func (s *Server) fleetHost(w http.ResponseWriter, r *http.Request) (fleet.Host, bool) {
	if !s.fleetOn(w) {
		return fleet.Host{}, false
	}
	token, ok := bearer(w, r)
	if !ok {
		return fleet.Host{}, false
	}
	id := r.PathValue("id")
	if !s.notAnotherHost(w, r, id, token) {
		return fleet.Host{}, false
	}
	h, err := s.cfg.Fleet.Authenticate(r.Context(), id, token)
	if errors.Is(err, store.ErrUnauthorized) {
		s.log.Warn().Str("fleet_host", id).Str("remote", r.RemoteAddr).Msg("web: wrong host token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="checkfleet", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, fmt.Sprintf("the host token is not the token of host %q (or no such host is registered)", id))
		return fleet.Host{}, false
	}
	if err != nil {
		s.fleetError(w, r, err)
		return fleet.Host{}, false
	}
	return h, true
}

// notAnotherHost refuses with 403 a request for host id made with the
// valid token of the other host it names in fleetapi.HostHeader.
func (s *Server) notAnotherHost(w http.ResponseWriter, r *http.Request, id, token string) bool {
	claimed := r.Header.Get(fleetapi.HostHeader)
	if claimed == "" || claimed == id {
		return true
	}
	if _, err := s.cfg.Fleet.Authenticate(r.Context(), claimed, token); err != nil {
		return true // not its token either: the check that follows answers 401
	}
	s.log.Warn().Str("fleet_host", claimed).Str("for_host", id).Str("remote", r.RemoteAddr).Msg("web: host token used for another host")
	writeError(w, http.StatusForbidden, fmt.Sprintf("the token of host %q cannot act for host %q: a host token is scoped to its own host", claimed, id))
	return false
}

// bearer returns the request's bearer token, or answers 401.
func bearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="checkfleet"`)
		writeError(w, http.StatusUnauthorized, "this endpoint needs an Authorization: Bearer <token> header")
		return "", false
	}
	return token, true
}

// decodeBody decodes a JSON body into v, or answers 400. It decodes with
// go-json-experiment/json (the encoding/json/v2 prototype, already built
// in through chromedp's protocol package): a heartbeat's state decodes in
// a third of encoding/json's time and allocations, and 1,000 hosts send
// 200 a second.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := jsonv2.UnmarshalRead(http.MaxBytesReader(w, r.Body, maxFleetBody), v); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return false
	}
	return true
}

// fleetError answers err with the status it calls for.
func (s *Server) fleetError(w http.ResponseWriter, r *http.Request, err error) {
	var locked *fleet.LockedError
	switch {
	case errors.As(err, &locked):
		writeJSON(w, http.StatusConflict, fleetapi.ErrorBody{Error: err.Error(), Lock: fleetapi.LockOf(locked.Held)})
	case errors.Is(err, fleet.ErrUnknownRing), errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrUnauthorized):
		writeError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, fleet.ErrRefusedStep), errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.log.Error().Err(err).Str("path", r.URL.Path).Msg("web: fleet request")
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
