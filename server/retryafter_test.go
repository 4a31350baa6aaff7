package server

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestWholeRequestRetryAfter: Retry-After is set only on an answer with no
// data whose every error is RATE_LIMITED, to the largest retryAfterSeconds;
// never to a figure no error gave (none, or 0).
func TestWholeRequestRetryAfter(t *testing.T) {
	rl := func(s any) *gqlerror.Error {
		ext := map[string]any{"code": "RATE_LIMITED"}
		if s != nil {
			ext["retryAfterSeconds"] = s
		}
		return &gqlerror.Error{Message: "too many requests", Extensions: ext}
	}
	other := &gqlerror.Error{Message: "x", Extensions: map[string]any{"code": "UPSTREAM_UNAVAILABLE"}}
	for _, c := range []struct {
		name string
		resp graphql.Response
		want string
	}{
		{"refused, data null", graphql.Response{Data: json.RawMessage("null"), Errors: gqlerror.List{rl(7)}}, "7"},
		{"refused, no data entry", graphql.Response{Errors: gqlerror.List{rl(3), rl(12.2)}}, "13"},
		{"refused without a figure", graphql.Response{Errors: gqlerror.List{rl(nil)}}, ""},
		{"one of them without a figure", graphql.Response{Errors: gqlerror.List{rl(30), rl(nil)}}, ""},
		{"a zero figure", graphql.Response{Errors: gqlerror.List{rl(0)}}, ""},
		{"every field null", graphql.Response{Data: json.RawMessage(`{"viewer":null,"product":null}`), Errors: gqlerror.List{rl(4)}}, "4"},
		{"partial data", graphql.Response{Data: json.RawMessage(`{"a":null,"b":1}`), Errors: gqlerror.List{rl(7)}}, ""},
		{"another error too", graphql.Response{Data: json.RawMessage("null"), Errors: gqlerror.List{rl(7), other}}, ""},
		{"other error only", graphql.Response{Data: json.RawMessage("null"), Errors: gqlerror.List{other}}, ""},
		{"success", graphql.Response{Data: json.RawMessage(`{"a":1}`)}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			resp := c.resp
			writeResponse(w, &resp)
			if got := w.Header().Get("Retry-After"); got != c.want {
				t.Errorf("Retry-After = %q, want %q", got, c.want)
			}
			if w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
}
