package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

func (s *Server) apiChecks(w http.ResponseWriter, r *http.Request) {
	views, err := s.views(r.Context(), s.cfg.Checks())
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	out := struct {
		Checks []checkJSON `json:"checks"`
	}{Checks: make([]checkJSON, 0, len(views))}
	for _, v := range views {
		cj, err := checkJSONOf(v)
		if err != nil {
			s.apiEncodeError(w, r, err)
			return
		}
		out.Checks = append(out.Checks, cj)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiCheck(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiLoadedCheck(w, r)
	if !ok {
		return
	}
	views, err := s.views(r.Context(), []check.Check{c})
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	out, err := checkJSONOf(views[0])
	if err != nil {
		s.apiEncodeError(w, r, err)
		return
	}
	out.Definition = definitionOf(c)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiCheckResults(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiLoadedCheck(w, r)
	if !ok {
		return
	}
	q, err := resultQuery(r.URL.Query(), c.ID)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page, next, err := s.cfg.Results.ListResults(r.Context(), q)
	if errors.Is(err, store.ErrInvalid) {
		// The parameters were checked above, so this is a cursor that has
		// the right digest but not a position the store understands.
		writeError(w, http.StatusBadRequest, (&paramError{"cursor", err.Error()}).Error())
		return
	}
	if err != nil {
		s.apiStoreError(w, r, fmt.Errorf("list results of %s: %w", c.ID, err))
		return
	}
	out := resultsPageJSON{Results: make([]resultJSON, 0, len(page))}
	for _, res := range page {
		rj, err := resultJSONOf(res)
		if err != nil {
			s.apiEncodeError(w, r, err)
			return
		}
		out.Results = append(out.Results, rj)
	}
	if next != "" {
		out.NextCursor = encodeCursor(q, next)
		params := r.URL.Query()
		params.Set("cursor", out.NextCursor)
		out.Next = checkAPIPath(c.ID) + "/results?" + params.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiRollups(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiLoadedCheck(w, r)
	if !ok {
		return
	}
	from, to, err := rollupWindow(r.URL.Query(), s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rollups, err := s.cfg.Results.Rollups(r.Context(), c.ID, from, to)
	if err != nil {
		s.apiStoreError(w, r, fmt.Errorf("read rollups of %s: %w", c.ID, err))
		return
	}
	out := rollupsJSON{CheckID: c.ID, From: from, To: to, Rollups: make([]rollupJSON, 0, len(rollups))}
	for _, ru := range rollups {
		out.Rollups = append(out.Rollups, rollupJSONOf(ru))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	id := r.PathValue("id")
	if s.cfg.Enqueue == nil {
		writeError(w, http.StatusNotImplemented, "run-now is not available on this server")
		return
	}
	c, ok := s.findCheck(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no check %q is loaded", id))
		return
	}
	if err := c.ValidateTimeout(); err != nil {
		// A worker would cut it off at every drain; the checks file refuses
		// it too, so only a check loaded some other way gets here.
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("check %q cannot run: %v", id, err))
		return
	}
	runIDs, err := s.cfg.Enqueue(r.Context(), id)
	switch {
	case errors.Is(err, ErrUnknownCheck):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no check %q is loaded", id))
		return
	case err != nil:
		s.log.Error().Err(err).Str("check_id", id).Msg("run now: enqueue failed")
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("could not enqueue check %q; the scheduler's log says why", id))
		return
	}
	s.log.Info().Str("check_id", id).Strs("run_ids", runIDs).Msg("run now: enqueued")
	writeJSON(w, http.StatusAccepted, runJSON{CheckID: id, RunIDs: nonNil(runIDs)})
}

func (s *Server) apiResult(w http.ResponseWriter, r *http.Request) {
	res, ok := s.apiLoadResult(w, r)
	if !ok {
		return
	}
	out, err := resultJSONOf(res)
	if err != nil {
		s.apiEncodeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiScreenshot(w http.ResponseWriter, r *http.Request) {
	res, ok := s.apiLoadResult(w, r)
	if !ok {
		return
	}
	if res.Browser == nil || len(res.Browser.Screenshot) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("run %q has no screenshot", res.RunID))
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	// A result never changes once recorded (the first one wins).
	w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
	_, _ = w.Write(res.Browser.Screenshot)
}

func (s *Server) apiStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.status().utc())
}

// status is the scheduler's status, or the zero one without a source.
func (s *Server) status() Status {
	if s.cfg.Status == nil {
		return Status{}
	}
	return s.cfg.Status()
}

// apiLoadedCheck returns the loaded check named by the path, or writes a 404.
func (s *Server) apiLoadedCheck(w http.ResponseWriter, r *http.Request) (check.Check, bool) {
	id := r.PathValue("id")
	c, ok := s.findCheck(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no check %q is loaded", id))
	}
	return c, ok
}

// apiLoadResult reads the result named by the path, or writes a 404 or 500.
func (s *Server) apiLoadResult(w http.ResponseWriter, r *http.Request) (check.Result, bool) {
	runID := r.PathValue("run_id")
	res, err := s.cfg.Results.Result(r.Context(), runID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no result with run id %q", runID))
		return res, false
	case err != nil:
		s.apiStoreError(w, r, fmt.Errorf("read result %s: %w", runID, err))
		return res, false
	}
	return res, true
}

// apiStoreError logs a store failure and answers 500 without its detail,
// which is for operators, not the public API.
func (s *Server) apiStoreError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error().Err(err).Str("path", r.URL.Path).Msg("web: store read failed")
	writeError(w, http.StatusInternalServerError, "could not read from the store; the scheduler's log says why")
}

// apiEncodeError logs a recorded result that cannot be served as its
// document, which the store should have refused, and answers 500.
func (s *Server) apiEncodeError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error().Err(err).Str("path", r.URL.Path).Msg("web: recorded result cannot be served")
	writeError(w, http.StatusInternalServerError, "could not encode a recorded result; the scheduler's log says why")
}

// authorize checks the bearer token of a request that changes something and
// writes the refusal when it is not allowed: 403 when no token is
// configured, 401 (with WWW-Authenticate) when it is missing or wrong.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Token == "" {
		writeError(w, http.StatusForbidden, "this endpoint changes something and is disabled: no API token is configured on the scheduler; set one with --token or CHECKFLEET_TOKEN to enable it")
		return false
	}
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="checkfleet"`)
		writeError(w, http.StatusUnauthorized, "this endpoint needs an Authorization: Bearer <token> header")
		return false
	}
	// Comparing digests keeps the comparison constant-time in the length
	// of the token too.
	got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(s.cfg.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="checkfleet", error="invalid_token"`)
		s.log.Warn().Str("path", r.URL.Path).Str("remote", r.RemoteAddr).Msg("web: wrong bearer token")
		writeError(w, http.StatusUnauthorized, "the bearer token is not valid")
		return false
	}
	return true
}
