package orders

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/exactql/exactql/erp"
)

// Cursors of a buyer's order list are signed (issue 17 item 4): a cursor is
// base64url(JSON{t, i}) "." base64url(HMAC-SHA256(key, account, payload))
// truncated to 128 bits. The key lives in the store (created once, shared
// by replicas), so cursors survive restarts; binding the account means a
// cursor is worthless to another buyer. Decoded values are validated too,
// so even a leaked key cannot send an absurd datetime literal to Exact.

// maxCursorLength bounds what decodeCursor reads at all.
const maxCursorLength = 256

// cursorMinTime is the earliest creation time a cursor may carry: before
// Exact Online existed, so no real order is older.
var cursorMinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// cursorMaxAhead is how far past the clock a cursor's time may lie (a fresh
// order's Created read in the division's zone, clock skew).
const cursorMaxAhead = 48 * time.Hour

type cursor struct {
	T  int64  `json:"t"`
	ID string `json:"i"`
}

// newCursorKey returns a random key for a Service configured without one:
// its cursors then stop working when the process ends.
func newCursorKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func (s *Service) cursorMAC(account, payload string) string {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write([]byte("exactql orders cursor v1\x00"))
	m.Write([]byte(account))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (s *Service) encodeCursor(account string, o *Order) string {
	b, _ := json.Marshal(cursor{T: o.Created.UnixMilli(), ID: o.ID})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + s.cursorMAC(account, payload)
}

// decodeCursor verifies and decodes a cursor of account's list. Every
// failure is ErrInvalidCursor, before anything is asked of Exact.
func (s *Service) decodeCursor(account, str string) (*cursor, error) {
	if len(str) > maxCursorLength {
		return nil, ErrInvalidCursor
	}
	payload, mac, ok := strings.Cut(str, ".")
	if !ok || payload == "" || !hmac.Equal([]byte(mac), []byte(s.cursorMAC(account, payload))) {
		return nil, ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, ErrInvalidCursor
	}
	t := time.UnixMilli(c.T)
	if c.ID != strings.ToLower(c.ID) || !erp.IsGUID(c.ID) || t.Before(cursorMinTime) || t.After(s.o.Now().Add(cursorMaxAhead)) {
		return nil, ErrInvalidCursor
	}
	return &c, nil
}
