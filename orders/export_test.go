package orders

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// SignCursorForTest signs an arbitrary cursor with key for account, as only
// a holder of the store's key could.
func SignCursorForTest(key []byte, account string, t int64, id string) string {
	s := &Service{cursorKey: key}
	b, _ := json.Marshal(cursor{T: t, ID: id})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + s.cursorMAC(strings.ToLower(strings.TrimSpace(account)), payload)
}
