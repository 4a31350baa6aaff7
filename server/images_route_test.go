package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/exactql/exactql/resolvers"
)

// TestImageRoutesAuth: the picture and the thumbnail route both reach the
// images handler through the caller middleware: a bad token answers 401
// UNAUTHENTICATED for both, a buyer's fetch counts toward its account's
// budget and an anonymous one toward its address.
func TestImageRoutesAuth(t *testing.T) {
	var paths []string
	keyOf := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path+" "+r.PathValue("itemID"))
		_, _ = w.Write([]byte(resolvers.FromContext(r.Context()).BudgetKey()))
	})
	h, err := New(Config{JWTSecret: testSecret, Now: func() time.Time { return testNow }},
		Deps{Logger: zerolog.Nop(), Resolvers: testRoot{}, Images: keyOf})
	if err != nil {
		t.Fatal(err)
	}
	buyer, err := SignToken(testSecret, "user-1", testAccount, "", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	const id = "11111111-1111-4111-8111-111111111111"
	for _, p := range []string{"/images/" + id, "/images/" + id + "/thumbnail"} {
		get := func(auth string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, p, nil)
			r.RemoteAddr = "198.51.100.4:1"
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec
		}
		if rec := get("Bearer not-a-token"); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s with a bad token: %d %q, want 401 with WWW-Authenticate", p, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		if rec := get(""); rec.Code != http.StatusOK || rec.Body.String() != "addr:198.51.100.4" {
			t.Errorf("%s anonymous: %d %q", p, rec.Code, rec.Body)
		}
		if rec := get("Bearer " + buyer); rec.Code != http.StatusOK || rec.Body.String() == "addr:198.51.100.4" || rec.Body.String() == "" {
			t.Errorf("%s as a buyer: %d budget key %q, want the account's", p, rec.Code, rec.Body)
		}
	}
	want := []string{"/images/" + id + " " + id, "/images/" + id + " " + id,
		"/images/" + id + "/thumbnail " + id, "/images/" + id + "/thumbnail " + id}
	if len(paths) != len(want) {
		t.Fatalf("handler saw %q, want %q", paths, want)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Errorf("request %d reached the handler as %q, want %q", i, paths[i], want[i])
		}
	}
}
