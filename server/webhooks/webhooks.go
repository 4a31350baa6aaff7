// Package webhooks receives Exact Online's webhook notifications at
// POST /webhooks/exact (ARCHITECTURE §12). A notification is only a hint:
// its HashCode is verified and its topic wakes the matching mirror feed,
// which then reads the change through the sync API. The payload's data is
// never trusted or used.
package webhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// DefaultMaxBody is the largest notification accepted. Exact's are a few
// hundred bytes.
const DefaultMaxBody = 64 << 10

// Options configure New.
type Options struct {
	// Secret is the Exact app's webhook secret (EXACT_WEBHOOK_SECRET). Empty
	// means webhooks are off: every request, the validation request
	// included, is refused with 401 and no work.
	Secret string
	// Wake is called with the topic of every valid notification (for
	// example (*feeds.Runner).WakeTopic); it must not block. It reports
	// whether the topic is known, for the counters.
	Wake func(topic string) bool
	// Division, when not 0, ignores (200, no work) notifications for
	// another division.
	Division int
	// MaxBody bounds the body (default DefaultMaxBody); a larger one is
	// refused with 413.
	MaxBody int64
}

// Stats count the handler's answers since start.
type Stats struct {
	// Validations are the empty POSTs Exact sends to validate a subscription.
	Validations int64
	// Accepted are validly signed notifications (their feed was woken when
	// the topic is known).
	Accepted int64
	// UnknownTopic are accepted notifications of a topic no feed covers.
	UnknownTopic int64
	// Refused are requests answered 401, 405 or 413 (no work done).
	Refused int64
}

// Handler serves POST /webhooks/exact.
type Handler struct {
	secret   []byte
	wake     func(string) bool
	division int
	maxBody  int64

	validations, accepted, unknown, refused atomic.Int64
}

// New returns the handler, or an error when Wake is missing.
func New(o Options) (*Handler, error) {
	if o.Wake == nil {
		return nil, errors.New("webhooks.New: a Wake function is required")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &Handler{secret: []byte(o.Secret), wake: o.Wake, division: o.Division, maxBody: o.MaxBody}, nil
}

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	return Stats{Validations: h.validations.Load(), Accepted: h.accepted.Load(),
		UnknownTopic: h.unknown.Load(), Refused: h.refused.Load()}
}

// notification is Exact's webhook body. Content stays raw: HashCode signs
// its exact bytes.
type notification struct {
	Content  json.RawMessage `json:"Content"`
	HashCode string          `json:"HashCode"`
}

// content is the part of Content the handler reads.
type content struct {
	Topic    string `json:"Topic"`
	Division int    `json:"Division"`
}

// ServeHTTP answers an empty body (Exact's validation request) 200, a
// validly signed notification 200 after waking its feed, and anything else
// 401 (405 for other methods, 413 for an oversized body) without doing any
// work. Answers carry no body: nothing about the secret or the reason leaks.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.secret) == 0 {
		// No secret configured: nothing can be verified, so nothing is
		// accepted, not even Exact's validation of a new subscription.
		h.refused.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost {
		h.refused.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		h.refused.Add(1)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		h.validations.Add(1)
		w.WriteHeader(http.StatusOK)
		return
	}
	var n notification
	if json.Unmarshal(body, &n) != nil || len(n.Content) == 0 || !h.valid(n.Content, n.HashCode) {
		h.refused.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var c content
	if err := json.Unmarshal(n.Content, &c); err != nil || (h.division != 0 && c.Division != h.division) {
		// Signed by Exact but not for us (or unreadable): accept, do nothing.
		h.accepted.Add(1)
		w.WriteHeader(http.StatusOK)
		return
	}
	h.accepted.Add(1)
	if !h.wake(c.Topic) {
		h.unknown.Add(1)
	}
	w.WriteHeader(http.StatusOK)
}

// valid reports whether hashCode is the upper-case hex HMAC-SHA256 of the
// raw Content with the secret (exact-online-api.md §6), compared in
// constant time. Lower-case hex is refused: Exact sends upper case.
func (h *Handler) valid(raw []byte, hashCode string) bool {
	if len(hashCode) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(hashCode); i++ {
		if c := hashCode[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	got, err := hex.DecodeString(hashCode)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, h.secret)
	m.Write(raw)
	return hmac.Equal(got, m.Sum(nil))
}
