package server

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// readyTimeout bounds a readiness check.
const readyTimeout = 5 * time.Second

// healthz answers 200 while the process runs, even when Exact is down.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz answers 200 when r reports ready and 503 otherwise, with r's
// details reduced to states (see stateOnly): the body is for probes and
// dashboards and must not carry error texts, which can name internal
// addresses, hosts or Exact's messages.
func readyz(r Readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r == nil {
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), readyTimeout)
		defer cancel()
		ok, details := r.Ready(ctx)
		body := map[string]any{"status": "ok"}
		if len(details) > 0 {
			body["details"] = stateOnly(details)
		}
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
			body["status"] = "unavailable"
		}
		writeJSON(w, status, body)
	})
}

// stateRE is a state word such as "ok", "consent_needed" or "not-writable".
var stateRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// Redacted replaces a readiness detail that is not a state.
const Redacted = "redacted"

// stateOnly returns details as JSON values in which every string is a state
// word or an RFC 3339 time; any other string (an error text, a URL, an
// address) is replaced by Redacted. Numbers, booleans and nesting are kept.
// Readiness implementations should report states in the first place; this
// keeps a slip from reaching the body.
func stateOnly(details map[string]any) any {
	raw, err := json.Marshal(details)
	if err != nil {
		return Redacted
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return Redacted
	}
	return redact(v)
}

func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !identRE.MatchString(k) {
				continue // a key that is not a plain name
			}
			out[k] = redact(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e)
		}
		return out
	case string:
		if stateRE.MatchString(x) {
			return x
		}
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return x
		}
		return Redacted
	default:
		return x // numbers, booleans, null
	}
}

// identRE is a Go field name used as a key (struct values in details).
var identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)
