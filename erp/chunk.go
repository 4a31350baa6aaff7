package erp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxURLLength is the longest URL (scheme, host, path and query) a
// lookup sends by default. Exact publishes no limit (exact-online-api.md
// §3.5, UNCONFIRMED); IIS's default query-string limit is 2,048, so chunks of
// keys stay at or under 2,000 characters.
const DefaultMaxURLLength = 2000

// WithMaxURLLength sets the longest URL a chunked lookup sends (default
// DefaultMaxURLLength). Lookups put as many keys in one $filter as fit
// under both this length and the batch size.
func WithMaxURLLength(n int) Option {
	return func(c *Client) error {
		if n < 200 {
			return errors.New("erp.WithMaxURLLength: a URL limit below 200 characters leaves no room for a key")
		}
		c.maxURL.Store(int64(n))
		return nil
	}
}

// urlLength returns the length of the URL a call with query q to the set
// would have. The host counted is the configured one or, when that is
// shorter, Exact's own, so a lookup against the sandbox is as long as it
// would be at Exact.
func (s *entitySet[T]) urlLength(ctx context.Context, q Query) (int, error) {
	qs, err := q.encode(selectFields[T]())
	if err != nil {
		return 0, err
	}
	div, err := s.c.Division(ctx)
	if err != nil {
		return 0, err
	}
	host := max(len(s.c.base.String()), len(DefaultBaseURL))
	n := host + len("/api/v1/") + len(strconv.Itoa(div)) + 1 + len(s.path)
	if qs != "" {
		n += 1 + len(qs)
	}
	return n, nil
}

// chunkKeys splits keys into runs of at most the batch size whose query,
// build(run), makes a URL of at most the client's URL limit. A key whose
// query is too long even alone cannot be sent; it is left out and reported
// in skipped (an Exact code or GUID is never that long, so such a key matches
// nothing).
func (s *entitySet[T]) chunkKeys(ctx context.Context, keys []Filter, build func([]Filter) Query) (runs [][]Filter, skipped int, err error) {
	limit := int(s.c.maxURL.Load())
	var cur []Filter
	for _, k := range keys {
		next := append(cur[:len(cur):len(cur)], k)
		if len(next) <= s.c.batch {
			n, err := s.urlLength(ctx, build(next))
			if err != nil {
				return nil, 0, err
			}
			if n <= limit {
				cur = next
				continue
			}
		}
		if len(cur) > 0 {
			runs = append(runs, cur)
		}
		cur = []Filter{k}
		n, err := s.urlLength(ctx, build(cur))
		if err != nil {
			return nil, 0, err
		}
		if n > limit {
			cur = nil
			skipped++
		}
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs, skipped, nil
}

// allChunked lists the records of every run of keys, built into queries by
// build and split by chunkKeys. When Exact refuses a run of several keys as
// too long (isURLRefusal; the pessimistic reading of §3.5: a long or chain
// refused before our URL limit), the client's URL limit is lowered to three quarters of
// that URL's length for the rest of the process and the run is split again;
// the refusal is not retried as it was.
func (s *entitySet[T]) allChunked(ctx context.Context, keys []Filter, build func([]Filter) Query) ([]T, error) {
	runs, _, err := s.chunkKeys(ctx, keys, build)
	if err != nil {
		return nil, err
	}
	var out []T
	for len(runs) > 0 {
		run := runs[0]
		runs = runs[1:]
		rows, err := s.all(ctx, build(run))
		if err == nil {
			out = append(out, rows...)
			continue
		}
		if len(run) < 2 || !isURLRefusal(err) {
			return nil, err
		}
		// A short URL refused is some other fault of the query: splitting
		// it would only collect more error answers.
		n, lerr := s.urlLength(ctx, build(run))
		if lerr != nil || n <= minRefusedURL {
			return nil, err
		}
		if !s.c.lowerMaxURL(n * 3 / 4) {
			return nil, err
		}
		again, _, cerr := s.chunkKeys(ctx, run, build)
		if cerr != nil || len(again) < 2 {
			return nil, err
		}
		runs = append(again, runs...)
	}
	return out, nil
}

// minRefusedURL is the shortest URL whose 400 is read as "too long".
const minRefusedURL = 1024

// isURLRefusal reports whether err is Exact (or its front end) refusing a
// URL as too long: 414, or 400/404 whose text speaks of length (IIS answers
// an over-long query string 404.15). Other 400s are left alone: splitting a
// query refused for another reason would only collect more error answers.
func isURLRefusal(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.StatusCode {
	case http.StatusRequestURITooLong:
		return true
	case http.StatusBadRequest, http.StatusNotFound:
		m := strings.ToLower(e.Message)
		return strings.Contains(m, "too long") || strings.Contains(m, "length")
	}
	return false
}

// isShapeRefusal reports whether err is Exact refusing the form of a query
// (400 Bad Request or 501 Not Implemented) rather than failing to serve it.
func isShapeRefusal(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusNotImplemented
}

// lowerMaxURL lowers the URL limit to n (never below 200); it reports
// whether the limit went down.
func (c *Client) lowerMaxURL(n int) bool {
	n = max(n, 200)
	for {
		cur := c.maxURL.Load()
		if int64(n) >= cur {
			return false
		}
		if c.maxURL.CompareAndSwap(cur, int64(n)) {
			return true
		}
	}
}

// MaxURLLength returns the longest URL lookups currently send: the
// configured limit, or less after Exact refused a long query.
func (c *Client) MaxURLLength() int { return int(c.maxURL.Load()) }
