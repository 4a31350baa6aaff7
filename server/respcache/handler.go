package respcache

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// CacheControl is the Cache-Control header of every answer that passes
// through Handler, served from the cache or not: the gateway's own cache is
// the only one that knows when an answer is outdated, so no other cache may
// keep it.
const CacheControl = "private, no-store"

// maxBodyCopy bounds what Handler keeps of an answer while it is written;
// longer answers are not stored.
const maxBodyCopy = 4 << 20

// HitFunc is told about each answer served from the cache: the operation's
// name (see Key.Operation) and how long serving it took.
type HitFunc func(operation string, d time.Duration)

// ScopeFunc returns the price scope of a request (its caller is already
// authenticated); false means the request is served without the cache.
type ScopeFunc func(r *http.Request) (Scope, bool)

// Handler serves GraphQL requests (GET, and POST with a JSON body) from the
// cache when it holds a servable answer for their key, and otherwise passes
// them to next, storing the answer when next reports through Observe that
// it was a query's answer without errors or extensions, and the status was
// 200. It must run after authentication (scope reads the caller) and
// before anything that would make answers to the same key differ. onHit,
// when set, is told about every answer served from the cache (they never
// reach next, so its metrics would miss them).
func (c *Cache) Handler(next http.Handler, scope ScopeFunc, onHit HitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w.Header().Set("Cache-Control", CacheControl)
		s, ok := scope(r)
		if !ok || s.IsZero() {
			next.ServeHTTP(w, r)
			return
		}
		req, ok := readRequest(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		k, err := NewKey(s, req)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if body, ct, ok := c.Get(k); ok {
			h := w.Header()
			h.Set("Content-Type", ct)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			if onHit != nil {
				onHit(k.Operation(), time.Since(start))
			}
			return
		}
		st := c.Begin(s)
		obs := &observation{}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), observationKey{}, obs)))
		if obs.cacheable() && rec.status == http.StatusOK && !rec.overflow && rec.err == nil && r.Context().Err() == nil {
			c.Put(k, st, w.Header().Get("Content-Type"), rec.body.Bytes())
		}
	})
}

type observationKey struct{}

// observation is what the GraphQL transport reported about the answer.
type observation struct {
	calls     int
	storeable bool
}

func (o *observation) cacheable() bool { return o.calls == 1 && o.storeable }

// Observe is called by the GraphQL transport with the operation it ran and
// the answer it is about to write: the answer may be stored only if the
// operation is a query and the answer carries data, no error and no
// extension (extensions.stale among them). A request whose transport calls
// Observe more than once, or never, is not stored. Outside Handler it does
// nothing.
func Observe(ctx context.Context, op ast.Operation, resp *graphql.Response) {
	o, ok := ctx.Value(observationKey{}).(*observation)
	if !ok {
		return
	}
	o.calls++
	o.storeable = op == ast.Query && resp != nil && len(resp.Errors) == 0 && len(resp.Extensions) == 0 &&
		len(resp.Data) > 0 && !bytes.Equal(bytes.TrimSpace(resp.Data), []byte("null"))
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
	overflow    bool
	err         error
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	if !r.overflow {
		if r.body.Len()+len(b) > maxBodyCopy {
			r.overflow = true
			r.body = bytes.Buffer{}
		} else {
			r.body.Write(b)
		}
	}
	n, err := r.ResponseWriter.Write(b)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// params are the GraphQL-over-HTTP request parameters the key is made of.
type params struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    struct {
		PersistedQuery struct {
			Sha256Hash string `json:"sha256Hash"`
		} `json:"persistedQuery"`
	} `json:"extensions"`
}

// readRequest reads the key's parts of a GET or JSON POST request. The body
// is read and put back, so next reads it as sent (a read error included).
// Anything unusual is false: such requests go to next uncached, and it
// answers them as it always does.
func readRequest(r *http.Request) (Request, bool) {
	var p params
	switch r.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return Request{}, false
		}
		p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" && !decode([]byte(v), &p.Variables) {
			return Request{}, false
		}
		if v := q.Get("extensions"); v != "" && !decode([]byte(v), &p.Extensions) {
			return Request{}, false
		}
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			return Request{}, false
		}
		if r.Body == nil {
			return Request{}, false
		}
		b, err := io.ReadAll(r.Body)
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), errReader{err}), r.Body}
		if err != nil || !decode(b, &p) {
			return Request{}, false
		}
	default:
		return Request{}, false
	}
	if r.Header.Get("Upgrade") != "" {
		return Request{}, false
	}
	return Request{Query: p.Query, PersistedHash: p.Extensions.PersistedQuery.Sha256Hash,
		OperationName: p.OperationName, Variables: p.Variables, Accept: r.Header.Get("Accept")}, true
}

// decode unmarshals b into v keeping numbers as written (json.Number).
func decode(b []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

// errReader returns err, or io.EOF when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
