package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Handler serves the control API (its routes, bodies and error codes are
// described in package supervisorapi, whose Client speaks it).
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Status(r.Context()))
	})
	mux.HandleFunc("POST /v1/upgrade", func(w http.ResponseWriter, r *http.Request) { s.serveUpgrade(w, r, false) })
	mux.HandleFunc("POST /v1/rollback", func(w http.ResponseWriter, r *http.Request) { s.serveUpgrade(w, r, true) })
	return mux
}

func (s *Supervisor) serveUpgrade(w http.ResponseWriter, r *http.Request, rollback bool) {
	req := api.UpgradeRequest{UpgradeOptions: s.cfg.DefaultUpgradeOptions()}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return
	}
	req.Rollback = rollback
	p, err := s.Upgrade(r.Context(), req)
	if err != nil {
		code := http.StatusInternalServerError
		var busy *BusyError
		var bad *RequestError
		switch {
		case errors.As(err, &bad):
			code = http.StatusBadRequest
		case errors.As(err, &busy), errors.Is(err, ErrNoPrevious):
			code = http.StatusConflict
		case errors.Is(err, runtime.ErrImageNotFound):
			code = http.StatusUnprocessableEntity
		case errors.Is(err, ErrNotRunning):
			code = http.StatusServiceUnavailable
		}
		writeError(w, code, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	// The upgrade goes on when the client goes away; only the stream ends.
	_ = p.Follow(r.Context(), func(e api.Event) {
		if enc.Encode(e) == nil {
			_ = rc.Flush()
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// ListenUnix listens on the unix socket at path with mode 0600, creating
// its directory; a stale socket left by a dead supervisor is replaced, a
// live one is an error.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another supervisor answers on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	}
	// The socket is created with the umask's mode: make it 0600 from the
	// start, not after a window in which anyone could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}
