package cache

import (
	"fmt"
	"strconv"
	"strings"
)

// keyEscaper escapes the separator so that distinct part lists never give
// the same key ("a/b","c" versus "a","b/c").
var keyEscaper = strings.NewReplacer("%", "%25", "/", "%2F")

// Key builds a cache key: the division first, then the kind, then the
// parts, each escaped and separated by "/". Keys of buyer-specific data
// must carry the buyer (account or price list) as a part; BuyerKey enforces
// that.
func Key(division int, kind string, parts ...string) string {
	var b strings.Builder
	n := 12 + len(kind)
	for _, p := range parts {
		n += len(p) + 1
	}
	b.Grow(n)
	b.WriteString(strconv.Itoa(division))
	b.WriteByte('/')
	writeEscaped(&b, kind)
	for _, p := range parts {
		b.WriteByte('/')
		writeEscaped(&b, p)
	}
	return b.String()
}

// BuyerKey builds the key of buyer-specific data (prices, price agreements,
// accounts): division, kind, then "b=" and the buyer, then the parts. An
// empty buyer is refused with ErrNoBuyer, so one buyer's data is never
// stored under a key another buyer could read.
func BuyerKey(division int, kind, buyer string, parts ...string) (string, error) {
	if strings.TrimSpace(buyer) == "" {
		return "", fmt.Errorf("cache.BuyerKey: %s: %w", kind, ErrNoBuyer)
	}
	all := make([]string, 0, len(parts)+1)
	all = append(all, "b="+buyer)
	all = append(all, parts...)
	return Key(division, kind, all...), nil
}

func writeEscaped(b *strings.Builder, s string) {
	if strings.ContainsAny(s, "%/") {
		s = keyEscaper.Replace(s)
	}
	b.WriteString(s)
}
