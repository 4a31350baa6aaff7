package server

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds a readiness check.
const readyTimeout = 5 * time.Second

// healthz answers 200 while the process runs, even when Exact is down.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz answers 200 when r reports ready and 503 otherwise, with r's details.
func readyz(r Readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r == nil {
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), readyTimeout)
		defer cancel()
		ok, details := r.Ready(ctx)
		body := map[string]any{"status": "ok"}
		if len(details) > 0 {
			body["details"] = details
		}
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
			body["status"] = "unavailable"
		}
		writeJSON(w, status, body)
	})
}
