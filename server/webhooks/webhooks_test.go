package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const secret = "test-webhook-secret"

func sign(s, content string) string {
	m := hmac.New(sha256.New, []byte(s))
	m.Write([]byte(content))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func body(content, hash string) string {
	return `{"Content":` + content + `,"HashCode":"` + hash + `"}`
}

type wakes struct {
	mu     sync.Mutex
	topics []string
}

func (w *wakes) wake(t string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.topics = append(w.topics, t)
	return t == "Items" || t == "StockPositions"
}

func TestHandler(t *testing.T) {
	// Content with unusual spacing: the HMAC covers its raw bytes.
	items := `{"Topic":"Items", "ClientId":"c","Division":42,"Action":"Update","Key":"k","ExactOnlineEndpoint":"https:\/\/x\/api","EventCreatedOn":"2026-01-06T16:26:08.587"}`
	other := `{"Topic":"Items","Division":7}`
	unknown := `{"Topic":"Quotations","Division":42}`
	cases := []struct {
		name, method, body string
		want               int
		wantWake           []string
	}{
		{"validation request", "POST", "", 200, nil},
		{"valid", "POST", body(items, sign(secret, items)), 200, []string{"Items"}},
		{"unknown topic", "POST", body(unknown, sign(secret, unknown)), 200, []string{"Quotations"}},
		{"other division", "POST", body(other, sign(secret, other)), 200, nil},
		{"wrong secret", "POST", body(items, sign("other", items)), 401, nil},
		{"lower-case hex", "POST", body(items, strings.ToLower(sign(secret, items))), 401, nil},
		{"no hash", "POST", `{"Content":` + items + `}`, 401, nil},
		{"hash of re-serialised content", "POST", body(items, sign(secret, strings.ReplaceAll(items, ", ", ","))), 401, nil},
		{"not JSON", "POST", "hello", 401, nil},
		{"no content", "POST", `{"HashCode":"` + sign(secret, "") + `"}`, 401, nil},
		{"too large", "POST", body(items, sign(secret, items)) + strings.Repeat(" ", DefaultMaxBody), 413, nil},
		{"GET", "GET", "", 405, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &wakes{}
			h, err := New(Options{Secret: secret, Wake: w.wake, Division: 42})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, "/webhooks/exact", strings.NewReader(c.body)))
			if rec.Code != c.want {
				t.Errorf("status %d, want %d", rec.Code, c.want)
			}
			if strings.Join(w.topics, ",") != strings.Join(c.wantWake, ",") {
				t.Errorf("woke %v, want %v", w.topics, c.wantWake)
			}
			if rec.Body.Len() != 0 {
				t.Errorf("answer has a body: %q", rec.Body.String())
			}
		})
	}
}

func TestStatsAndOptions(t *testing.T) {
	off, err := New(Options{Wake: func(string) bool { t.Error("woken without a secret"); return true }})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"", body(`{"Topic":"Items"}`, sign("", `{"Topic":"Items"}`))} {
		rec := httptest.NewRecorder()
		off.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(b)))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("without a secret, %q answered %d", b, rec.Code)
		}
	}
	if _, err := New(Options{Secret: "s"}); err == nil {
		t.Error("no wake accepted")
	}
	w := &wakes{}
	h, _ := New(Options{Secret: secret, Wake: w.wake})
	c := `{"Topic":"Quotations"}`
	for _, b := range []string{"", body(c, sign(secret, c)), "x"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(b)))
	}
	if s := h.Stats(); s != (Stats{Validations: 1, Accepted: 1, UnknownTopic: 1, Refused: 1}) {
		t.Errorf("stats %+v", s)
	}
}
