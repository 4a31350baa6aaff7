package orders

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
)

func TestRejectionReason(t *testing.T) {
	for msg, want := range map[string]string{
		"Item {3F2B8C1E-1111-4222-8333-444455556666} unknown": "Item {[id]} unknown",
		"": "no reason given",
	} {
		if got := rejectionReason(fmt.Errorf("x: %w", &erp.Error{StatusCode: 400, Message: msg})); got != want {
			t.Errorf("rejectionReason(%q) = %q; want %q", msg, got, want)
		}
	}
}

func TestIsRejection(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&erp.Error{StatusCode: 400, Message: "bad"}, true},
		{fmt.Errorf("wrapped: %w", &erp.Error{StatusCode: 422}), true},
		{&erp.Error{StatusCode: 401}, false},
		{&erp.Error{StatusCode: 403, Reason: "TooManyErrors"}, false},
		{&erp.Error{StatusCode: 408}, false},
		{&erp.Error{StatusCode: 429}, false},
		{&erp.Error{StatusCode: 500}, false},
		{&erp.Error{StatusCode: 503}, false},
		{&erp.Error{StatusCode: 0, Reason: "ErrorCapReached"}, false},
		{&erp.RateLimitError{}, false},
		{erp.ErrUnreadableResponse, false},
		{context.DeadlineExceeded, false},
		{&net.OpError{Op: "read", Err: errors.New("connection reset")}, false},
	}
	for _, tc := range tests {
		if got := isRejection(tc.err); got != tc.want {
			t.Errorf("isRejection(%v) = %t; want %t", tc.err, got, tc.want)
		}
	}
}

func TestNextAttemptBackoff(t *testing.T) {
	s := NewService(Options{RetryBase: 10 * time.Second, RetryMax: 80 * time.Second})
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		attempts int
		lo, hi   time.Duration
	}{
		{1, 5 * time.Second, 10 * time.Second},
		{2, 10 * time.Second, 20 * time.Second},
		{3, 20 * time.Second, 40 * time.Second},
		{4, 40 * time.Second, 80 * time.Second},
		{9, 40 * time.Second, 80 * time.Second},
		{1000, 40 * time.Second, 80 * time.Second},
	} {
		for range 50 {
			d := s.nextAttempt(tc.attempts, now, errors.New("x")).Sub(now)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", tc.attempts, d, tc.lo, tc.hi)
			}
		}
	}
	reset := now.Add(10 * time.Minute)
	if got := s.nextAttempt(1, now, fmt.Errorf("w: %w", &erp.RateLimitError{Reset: reset})); !got.Equal(reset) {
		t.Errorf("after a rate limit: next = %s; want the reset %s", got, reset)
	}
}

func TestRefOf(t *testing.T) {
	id := "3f2b8c1e-1111-4222-8333-444455556666"
	for remarks, want := range map[string]string{
		"exactql-ref: " + id:                                  id,
		"Back door\nexactql-ref: " + id:                       id,
		"exactql-ref: 3F2B8C1E-1111-4222-8333-444455556666\n": id,
		"exactql-ref: not-a-guid":                             "",
		"no reference":                                        "",
		"":                                                    "",
		// The current form: first line, the buyer's remarks after it.
		"exactql-ref: " + id + "\nBack door\nexactql-ref: 00000000-0000-4000-8000-000000000000": id,
		"exactql-ref: " + id + "\r\nBack door":                                                  id,
		// Remarks truncated by Exact or edited by staff at the end.
		"exactql-ref: " + id + "\nBack do":                  id,
		"exactql-ref: " + id + "\nStaff note added later\n": id,
		// The old form (orders journaled before): last line.
		"Back door\r\nexactql-ref: " + id + "\r\n": id,
		// A reference typed in the middle of the remarks is not taken.
		"Back door\nexactql-ref: " + id + "\nmore text": "",
	} {
		if got := refOf(remarks); got != want {
			t.Errorf("refOf(%q) = %q; want %q", remarks, got, want)
		}
	}
}

func TestNewUUIDIsVersion4(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := newUUID()
		if err != nil {
			t.Fatal(err)
		}
		if !erp.IsGUID(id) || id[14] != '4' || (id[19] != '8' && id[19] != '9' && id[19] != 'a' && id[19] != 'b') {
			t.Fatalf("newUUID() = %s; not a UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id] = true
	}
}
