package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

// TestReadyzRedactsErrorTexts: whatever a Readiness puts in its details,
// the /readyz body carries only state words, times, numbers and booleans.
func TestReadyzRedactsErrorTexts(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r := readiness{ok: false, details: map[string]any{
		"store":       "not_writable",
		"exact_token": "unavailable",
		"last_error":  `Post "http://10.1.2.3:8443/api/oauth2/token": dial tcp 10.1.2.3:8443: connection refused`,
		"path":        "/var/lib/exactql/exactql.db",
		"reset":       at,
		"remaining":   42,
		"blocked":     false,
		"nested":      map[string]any{"Reason": "Old refresh token used.", "State": "ok"},
		"list":        []any{"ok", "10.1.2.3"},
		"bad key \n":  "ok",
	}}
	h := AdminHandler(Deps{Logger: zerolog.Nop(), Readiness: r})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"status": "unavailable", "details": map[string]any{
		"store": "not_writable", "exact_token": "unavailable", "last_error": Redacted, "path": Redacted,
		"reset": "2026-12-04T12:00:00Z", "remaining": float64(42), "blocked": false,
		"nested": map[string]any{"Reason": Redacted, "State": "ok"}, "list": []any{"ok", Redacted},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/readyz body (-want +got):\n%s", diff)
	}
	if strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Errorf("body leaks an address: %s", rec.Body.String())
	}
}

// TestSeparateAdmin: with SeparateAdmin the public handler has no /metrics
// or /readyz; AdminHandler serves them.
func TestSeparateAdmin(t *testing.T) {
	h, err := New(Config{JWTSecret: testSecret, SeparateAdmin: true},
		Deps{Logger: zerolog.Nop(), Resolvers: testRoot{}, Readiness: readiness{ok: true}})
	if err != nil {
		t.Fatal(err)
	}
	admin := AdminHandler(Deps{Logger: zerolog.Nop(), Readiness: readiness{ok: true}})
	for _, tc := range []struct {
		h    http.Handler
		path string
		want int
	}{
		{h, "/readyz", 404}, {h, "/healthz", 200},
		{admin, "/readyz", 200}, {admin, "/healthz", 200}, {admin, "/graphql", 404},
	} {
		rec := httptest.NewRecorder()
		tc.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil).WithContext(context.Background()))
		if rec.Code != tc.want {
			t.Errorf("%s = %d, want %d", tc.path, rec.Code, tc.want)
		}
	}
}
