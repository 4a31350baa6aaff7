package resolvers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
)

func TestPresentError(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	path := ast.Path{ast.PathName("order")}
	onPath := func(err error) error { return &gqlerror.Error{Err: err, Message: err.Error(), Path: path} }
	codedGQL := func(msg, code string) error {
		e := gqlerror.Errorf("%s", msg)
		errcode.Set(e, code)
		return e
	}
	secretish := "erp: GET https://start.exactonline.nl/api/v1/1/logistics/Items?access_token=SECRET: boom"

	tests := []struct {
		name    string
		err     error
		want    map[string]any // extensions
		wantMsg string
		logged  bool
	}{
		{name: "unauthenticated", err: onPath(fmt.Errorf("resolvers.PlaceOrder: %w", apierr.ErrUnauthenticated)),
			want: map[string]any{"code": "UNAUTHENTICATED"}, wantMsg: "authentication required"},
		{name: "forbidden", err: apierr.ErrForbidden,
			want: map[string]any{"code": "FORBIDDEN"}, wantMsg: "not allowed for this caller"},
		{name: "not found", err: onPath(&apierr.NotFoundError{What: "order"}),
			want: map[string]any{"code": "NOT_FOUND"}, wantMsg: "order not found"},
		{name: "erp not found", err: fmt.Errorf("x: %w", erp.ErrNotFound),
			want: map[string]any{"code": "NOT_FOUND"}, wantMsg: "not found"},
		{name: "bad input", err: onPath(apierr.BadInputf("first must be at most %d", 100)),
			want: map[string]any{"code": "BAD_USER_INPUT"}, wantMsg: "first must be at most 100"},
		{name: "scalar input", err: onPath(&model.InputError{Message: "Decimal: bad"}),
			want: map[string]any{"code": "BAD_USER_INPUT"}, wantMsg: "Decimal: bad"},
		{name: "invalid id", err: fmt.Errorf("x: %w", erp.ErrInvalidID),
			want: map[string]any{"code": "BAD_USER_INPUT"}, wantMsg: "invalid ID"},
		{name: "caller rate limit", err: &apierr.RateLimitedError{RetryAfter: 1500 * time.Millisecond},
			want: map[string]any{"code": "RATE_LIMITED", "retryAfterSeconds": 2}, wantMsg: apierr.MsgRateLimited},
		{name: "erp rate limit", err: onPath(fmt.Errorf("load: %w", &erp.RateLimitError{Reset: now.Add(90 * time.Second), Endpoint: "logistics/Items"})),
			want: map[string]any{"code": "RATE_LIMITED", "retryAfterSeconds": 90}, wantMsg: apierr.MsgRateLimited},
		{name: "erp rate limit reset passed", err: &erp.RateLimitError{Reset: now.Add(-time.Second)},
			want: map[string]any{"code": "RATE_LIMITED", "retryAfterSeconds": 1}, wantMsg: apierr.MsgRateLimited},
		{name: "erp 503", err: &erp.Error{StatusCode: 503, Message: "Exact database server XYZ down", Endpoint: "logistics/Items"},
			want: map[string]any{"code": "UPSTREAM_UNAVAILABLE"}, wantMsg: apierr.MsgUpstream, logged: true},
		{name: "erp refused", err: &erp.Error{StatusCode: 0, Reason: "error cap"},
			want: map[string]any{"code": "UPSTREAM_UNAVAILABLE"}, wantMsg: apierr.MsgUpstream, logged: true},
		{name: "consent", err: fmt.Errorf("token: %w", erp.ErrConsentRequired),
			want: map[string]any{"code": "UPSTREAM_UNAVAILABLE"}, wantMsg: apierr.MsgUpstream, logged: true},
		{name: "timeout", err: fmt.Errorf("x: %w", context.DeadlineExceeded),
			want: map[string]any{"code": "UPSTREAM_UNAVAILABLE"}, wantMsg: apierr.MsgUpstream, logged: true},
		{name: "network", err: fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}),
			want: map[string]any{"code": "UPSTREAM_UNAVAILABLE"}, wantMsg: apierr.MsgUpstream, logged: true},
		{name: "erp 400 is ours", err: &erp.Error{StatusCode: 400, Message: "Invalid $filter on Items"},
			want: map[string]any{"code": "INTERNAL_SERVER_ERROR"}, wantMsg: "internal error", logged: true},
		{name: "unknown", err: onPath(errors.New(secretish)),
			want: map[string]any{"code": "INTERNAL_SERVER_ERROR"}, wantMsg: "internal error", logged: true},
		{name: "recovered panic", err: errRecovered,
			want: map[string]any{"code": "INTERNAL_SERVER_ERROR"}, wantMsg: "internal error"},
		{name: "parse failure kept", err: codedGQL("Unexpected Name \"x\"", errcode.ParseFailed),
			want: map[string]any{"code": "GRAPHQL_PARSE_FAILED"}, wantMsg: "Unexpected Name \"x\""},
		{name: "validation failure kept", err: codedGQL("Cannot query field \"x\"", errcode.ValidationFailed),
			want: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}, wantMsg: "Cannot query field \"x\""},
		{name: "complexity", err: codedGQL("operation has complexity 9000, which exceeds the limit of 5000", "COMPLEXITY_LIMIT_EXCEEDED"),
			want: map[string]any{"code": "QUERY_TOO_COMPLEX"}, wantMsg: "operation has complexity 9000, which exceeds the limit of 5000"},
		{name: "body echo cut", err: gqlerror.Errorf("json request body could not be decoded: unexpected EOF body:{\"query\":"),
			want: map[string]any{"code": "BAD_USER_INPUT"}, wantMsg: "json request body could not be decoded: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx := zerolog.New(&logs).With().Str("request_id", "rid-1").Logger().WithContext(t.Context())
			got := presentAt(ctx, tt.err, now)
			if diff := cmp.Diff(tt.want, got.Extensions); diff != "" {
				t.Errorf("extensions (-want +got):\n%s", diff)
			}
			if got.Message != tt.wantMsg {
				t.Errorf("message = %q, want %q", got.Message, tt.wantMsg)
			}
			if strings.Contains(got.Message, "SECRET") || strings.Contains(got.Message, "http") {
				t.Errorf("message leaks internals: %q", got.Message)
			}
			if tt.logged != (logs.Len() > 0) {
				t.Errorf("logged = %v, want %v (log: %s)", logs.Len() > 0, tt.logged, logs.String())
			}
			if tt.logged && !strings.Contains(logs.String(), `"request_id":"rid-1"`) {
				t.Errorf("log lacks the request ID: %s", logs.String())
			}
			var src *gqlerror.Error
			if errors.As(tt.err, &src) && src.Path != nil {
				if diff := cmp.Diff(src.Path, got.Path); diff != "" {
					t.Errorf("path (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(t.Context())
	err := Recover(ctx, "kaboom")
	got := PresentError(ctx, err)
	if got.Message != "internal error" || got.Extensions["code"] != apierr.CodeInternal {
		t.Errorf("PresentError(Recover()) = %q %v", got.Message, got.Extensions)
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), "stack") {
		t.Errorf("panic not logged with stack: %s", logs.String())
	}
}

// TestRecoverOutOfRangeNumber: the panic gqlparser raises for a number
// literal no Go type holds is the client's input: BAD_USER_INPUT, and no
// stack in the log.
func TestRecoverOutOfRangeNumber(t *testing.T) {
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(t.Context())
	_, perr := strconv.ParseInt("99999999999999999999", 10, 64)
	got := PresentError(ctx, Recover(ctx, perr))
	if got.Extensions["code"] != apierr.CodeBadUserInput || !strings.Contains(got.Message, "out of range") {
		t.Errorf("PresentError(Recover()) = %q %v", got.Message, got.Extensions)
	}
	if strings.Contains(logs.String(), "stack") || strings.Contains(logs.String(), `"level":"error"`) {
		t.Errorf("logged as a fault: %s", logs.String())
	}
}

func TestCallerContext(t *testing.T) {
	if got := FromContext(t.Context()); !got.Anonymous || got.IsBuyer() {
		t.Errorf("FromContext(empty) = %+v, want anonymous non-buyer", got)
	}
	tests := []struct {
		name      string
		c         Caller
		wantBuyer bool
		wantKey   string
	}{
		{"buyer", Caller{Subject: "u1", Account: "a"}, true, "sub:u1"},
		{"no account", Caller{Subject: "u2"}, false, "sub:u2"},
		{"anonymous", Caller{Anonymous: true, RemoteAddr: "10.0.0.1"}, false, "addr:10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromContext(NewContext(t.Context(), tt.c))
			if diff := cmp.Diff(tt.c, got); diff != "" {
				t.Errorf("FromContext (-want +got):\n%s", diff)
			}
			if got.IsBuyer() != tt.wantBuyer || got.BudgetKey() != tt.wantKey {
				t.Errorf("IsBuyer, BudgetKey = %v, %q; want %v, %q", got.IsBuyer(), got.BudgetKey(), tt.wantBuyer, tt.wantKey)
			}
		})
	}
}

// TestPresentIntrospectionDisabled: gqlgen's plain error on __schema or
// __type is recognised by the field (aliased or not), not by its text.
func TestPresentIntrospectionDisabled(t *testing.T) {
	fc := &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Name: "__schema", Alias: "s"}}}
	ctx := graphql.WithFieldContext(t.Context(), fc)
	got := presentAt(ctx, errors.New("any text"), time.Now())
	if got.Message != "introspection is disabled" || got.Extensions["code"] != apierr.CodeBadUserInput {
		t.Errorf("got %q %v", got.Message, got.Extensions)
	}
}

// TestPresentInvalidNull: gqlgen's non-null violation is recognised by its
// type and answered as our fault, logged, without its text.
func TestPresentInvalidNull(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(t.Context())
	err := &gqlerror.Error{Message: "x", Err: &graphql.InvalidNullError{Object: "Product", Field: "code", DeclaredType: "String!"},
		Path: ast.Path{ast.PathName("product"), ast.PathName("code")}}
	got := presentAt(ctx, err, time.Now())
	if got.Message != apierr.MsgInternal || got.Extensions["code"] != apierr.CodeInternal || logs.Len() == 0 {
		t.Errorf("got %q %v, logged %q", got.Message, got.Extensions, logs.String())
	}
}
