package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// opMarkKey marks a context whose operation is recorded by
// AroundOperations, so AroundResponses does not record it again.
type opMarkKey struct{}

// AroundOperations is a gqlgen operation middleware recording every
// operation that passed parsing and validation: its name, its latency up to
// the first response and the extensions.code of each error in that
// response. Register it together with AroundResponses, which records the
// requests refused before an operation runs (parse, validation and
// complexity errors); GraphQLExtension does both in one Use call.
func (m *Metrics) AroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	start := m.startOf(ctx)
	name := LabelAnonymous
	if n := operationName(ctx); n != "" {
		name = m.ops.admit(n, validName)
	}
	h := next(context.WithValue(ctx, opMarkKey{}, true))
	var once sync.Once
	return func(ctx context.Context) *graphql.Response {
		// gqlgen runs the response middleware inside h with this context
		// (or one derived from it): mark it too, so the request is never
		// counted twice whatever context the transport passes.
		resp := h(context.WithValue(ctx, opMarkKey{}, true))
		// Subscriptions answer many times; the operation is counted once.
		once.Do(func() { m.record(name, start, resp) })
		return resp
	}
}

// AroundResponses is a gqlgen response middleware that records the
// responses of requests that never became an operation (parse, validation
// or complexity errors, undecodable bodies). Responses of operations seen
// by AroundOperations pass through untouched. Names of failed requests are
// recorded only if a valid operation already used them, so garbage cannot
// take the cardinality budget.
func (m *Metrics) AroundResponses(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if ctx.Value(opMarkKey{}) != nil {
		return next(ctx)
	}
	start := m.startOf(ctx)
	resp := next(ctx)
	name := LabelAnonymous
	if n := operationName(ctx); n != "" {
		name = m.ops.known(n)
	}
	m.record(name, start, resp)
	return resp
}

// GraphQLExtension returns a gqlgen handler extension installing
// AroundOperations and AroundResponses: srv.Use(m.GraphQLExtension()).
func (m *Metrics) GraphQLExtension() graphql.HandlerExtension { return extension{m} }

type extension struct{ m *Metrics }

var (
	_ graphql.OperationInterceptor = extension{}
	_ graphql.ResponseInterceptor  = extension{}
)

func (extension) ExtensionName() string                          { return "ExactqlMetrics" }
func (extension) Validate(schema graphql.ExecutableSchema) error { return nil }

func (e extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return e.m.AroundOperations(ctx, next)
}

func (e extension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return e.m.AroundResponses(ctx, next)
}

// record counts one request and its errors.
func (m *Metrics) record(name string, start time.Time, resp *graphql.Response) {
	m.gqlRequests.WithLabelValues(name).Inc()
	m.gqlDuration.WithLabelValues(name).Observe(max(0, m.now().Sub(start)).Seconds())
	if resp == nil {
		return
	}
	for _, e := range resp.Errors {
		code := LabelNoCode
		if e != nil {
			if c, ok := e.Extensions["code"].(string); ok {
				code = m.codes.admit(c, validName)
			}
		}
		m.gqlErrors.WithLabelValues(code).Inc()
	}
}

// startOf is when gqlgen started reading the request, or now when that is
// unknown.
func (m *Metrics) startOf(ctx context.Context) time.Time {
	if graphql.HasOperationContext(ctx) {
		if t := graphql.GetOperationContext(ctx).Stats.OperationStart; !t.IsZero() {
			return t
		}
	}
	return m.now()
}

// operationName is the requested operation's name: operationName from the
// request, else the name of the (only) operation in the document.
func operationName(ctx context.Context) string {
	if !graphql.HasOperationContext(ctx) {
		return ""
	}
	oc := graphql.GetOperationContext(ctx)
	if oc == nil {
		return ""
	}
	if oc.OperationName != "" {
		return oc.OperationName
	}
	if oc.Operation != nil {
		return oc.Operation.Name
	}
	return ""
}
