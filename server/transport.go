package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/server/respcache"
)

// httpTransport serves GraphQL over HTTP (POST application/json and GET) by
// the GraphQL-over-HTTP spec, where gqlgen's own transports differ from it:
//
//   - A request error (the document does not parse or validate, variables do
//     not coerce, a shape limit is crossed) is answered with 200 under
//     application/json, as the spec asks for that legacy media type, and with
//     400 under application/graphql-response+json. gqlgen answers 422 to the
//     former.
//   - An answer to a request error has no "data" entry at all; gqlgen writes
//     "data": null, which says execution started.
//   - A request that is not a GraphQL request (body not JSON, parameters of
//     the wrong type, no query and no persisted query) gets 400 under both
//     media types.
//   - A mutation over GET gets 405 with Allow: POST.
//
// Automatic persisted queries keep working: the extension runs inside
// CreateOperationContext, and PERSISTED_QUERY_NOT_FOUND is not a protocol
// error, so clients get it with 200 and retry with the full query.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

// Supports implements graphql.Transport: GET, and POST with a JSON body.
func (httpTransport) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return err == nil && mt == contentTypeJSON
	}
	return false
}

// requestParams are the GraphQL-over-HTTP request parameters. Fields are raw
// so a parameter of the wrong JSON type is a clear 400, not a decode panic.
type requestParams struct {
	Query         json.RawMessage `json:"query"`
	OperationName json.RawMessage `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// Do implements graphql.Transport.
func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ct := responseContentType(r)
	w.Header().Set("Content-Type", ct)
	start := graphql.Now()

	var raw *graphql.RawParams
	var err error
	if r.Method == http.MethodGet {
		raw, err = paramsFromQuery(r.URL.RawQuery)
	} else {
		raw, err = paramsFromBody(r.Body)
	}
	if err != nil {
		writeRequestError(w, http.StatusBadRequest, gqlerror.List{badRequest(err.Error())})
		return
	}
	if raw.Query == "" && raw.Extensions["persistedQuery"] == nil {
		writeRequestError(w, http.StatusBadRequest, gqlerror.List{badRequest("the request has no query")})
		return
	}
	raw.Headers = r.Header
	raw.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx := r.Context()
	if ctx.Err() != nil {
		return // the client has gone away: nobody reads an answer
	}
	opCtx, errs := exec.CreateOperationContext(ctx, raw)
	if errs != nil {
		status := http.StatusOK
		if ct == contentTypeGraphQLResponse && errcode.GetErrorKind(errs) == errcode.KindProtocol {
			status = http.StatusBadRequest
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
		writeRequestError(w, status, resp.Errors, resp.Extensions)
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation != nil && opCtx.Operation.Operation != ast.Query {
		w.Header().Set("Allow", http.MethodPost)
		writeRequestError(w, http.StatusMethodNotAllowed, gqlerror.List{badRequest("only queries may be sent with GET; send mutations with POST")})
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if opCtx.Operation != nil {
		respcache.Observe(ctx, opCtx.Operation.Operation, resp)
	}
	writeResponse(w, resp)
}

// paramsFromBody decodes a POST body's JSON object.
func paramsFromBody(body io.Reader) (*graphql.RawParams, error) {
	if body == nil {
		return nil, errors.New("the request body is empty")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, errors.New("could not read the request body")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("the request body is empty")
	}
	var p requestParams
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errors.New("the request body is not a JSON object")
	}
	return p.decode()
}

// paramsFromQuery reads the parameters of a GET request's query string;
// variables and extensions are JSON-encoded.
func paramsFromQuery(rawQuery string) (*graphql.RawParams, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errors.New("the query string is malformed")
	}
	out := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	if v := q.Get("variables"); v != "" {
		if err := decodeObject(json.RawMessage(v), &out.Variables); err != nil {
			return nil, fmt.Errorf("variables: %w", err)
		}
	}
	if v := q.Get("extensions"); v != "" {
		if err := decodeObject(json.RawMessage(v), &out.Extensions); err != nil {
			return nil, fmt.Errorf("extensions: %w", err)
		}
	}
	return out, nil
}

func (p requestParams) decode() (*graphql.RawParams, error) {
	out := &graphql.RawParams{}
	if err := decodeString(p.Query, &out.Query); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if err := decodeString(p.OperationName, &out.OperationName); err != nil {
		return nil, fmt.Errorf("operationName: %w", err)
	}
	if err := decodeObject(p.Variables, &out.Variables); err != nil {
		return nil, fmt.Errorf("variables: %w", err)
	}
	if err := decodeObject(p.Extensions, &out.Extensions); err != nil {
		return nil, fmt.Errorf("extensions: %w", err)
	}
	return out, nil
}

func isNull(m json.RawMessage) bool {
	t := bytes.TrimSpace(m)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// decodeString accepts a JSON string or null.
func decodeString(m json.RawMessage, into *string) error {
	if isNull(m) {
		return nil
	}
	if err := json.Unmarshal(m, into); err != nil {
		return errors.New("must be a string")
	}
	return nil
}

// decodeObject accepts a JSON object or null; numbers stay json.Number so
// large integers are not rounded through float64.
func decodeObject(m json.RawMessage, into *map[string]any) error {
	if isNull(m) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(m))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return errors.New("must be a JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return errors.New("must be a JSON object")
	}
	*into = obj
	return nil
}

func badRequest(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	errcode.Set(err, apierr.CodeBadUserInput)
	return err
}

// requestErrorBody is a response to a request that was not executed: it
// has no "data" entry.
type requestErrorBody struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func writeRequestError(w http.ResponseWriter, status int, errs gqlerror.List, ext ...map[string]any) {
	body := requestErrorBody{Errors: errs}
	if len(ext) > 0 {
		body.Extensions = ext[0]
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	if resp == nil {
		writeRequestError(w, http.StatusInternalServerError, gqlerror.List{{Message: "internal error",
			Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}})
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		writeRequestError(w, http.StatusInternalServerError, gqlerror.List{{Message: "internal error",
			Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}})
		return
	}
	if s := wholeRequestRetryAfter(resp); s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	_, _ = w.Write(b)
}

// wholeRequestRetryAfter is the Retry-After, in seconds, of an answer that
// was refused as a whole for rate limiting: no data at all (data null, or
// every field asked null) and every error RATE_LIMITED. It is the largest
// retryAfterSeconds among the errors (each the real wait until its limit
// admits a call: a window's end or the caller budget's refill), so a client
// that waits that long is not refused for the same reason at once; 0 (no
// header) when the answer carries any data or any other error (a partial
// answer is not a refusal, and HTTP caches and clients must not delay it),
// and when an error has no figure of at least 1 second: the header never
// states a wait nobody computed.
func wholeRequestRetryAfter(resp *graphql.Response) int {
	if len(resp.Errors) == 0 {
		return 0
	}
	if !noData(resp.Data) {
		return 0
	}
	most := 0
	for _, e := range resp.Errors {
		if code, _ := e.Extensions["code"].(string); code != apierr.CodeRateLimited {
			return 0
		}
		var s int
		switch v := e.Extensions["retryAfterSeconds"].(type) {
		case int:
			s = v
		case int64:
			s = int(min(v, 1<<31-1))
		case float64:
			s = int(math.Ceil(min(v, 1<<31-1)))
		}
		if s < 1 {
			return 0
		}
		most = max(most, s)
	}
	return most
}

// noData reports whether data carries nothing: absent, null, or an object
// whose every top-level field is null.
func noData(data json.RawMessage) bool {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return true
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(d, &fields); err != nil {
		return false
	}
	for _, v := range fields {
		if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return false
		}
	}
	return true
}
