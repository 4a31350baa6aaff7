package resolvers

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/graph/model"
)

// codeComplexityLimit is what gqlgen's extension.ComplexityLimit sets; the
// presenter answers it as QUERY_TOO_COMPLEX.
const codeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"

// errRecovered stands for a panic recovered by Recover; its value is logged.
var errRecovered = errors.New("resolvers: recovered panic")

// PresentError is the gqlgen error presenter: it maps err to one of the codes
// of ARCHITECTURE §8 and replaces every message that could leak internals
// (URLs, Exact's texts, tokens) with a fixed one. The real error of an
// INTERNAL_SERVER_ERROR is logged with zerolog.Ctx(ctx).
func PresentError(ctx context.Context, err error) *gqlerror.Error {
	return presentAt(ctx, err, time.Now())
}

func presentAt(ctx context.Context, err error, now time.Time) *gqlerror.Error {
	var src *gqlerror.Error
	if !errors.As(err, &src) {
		src = gqlerror.WrapPath(graphql.GetPath(ctx), err)
	}
	out := &gqlerror.Error{
		Path:      src.Path,
		Locations: src.Locations,
	}
	cause := src.Err
	if cause == nil && src != err {
		// err wraps a *gqlerror.Error: the wrapper itself is the cause.
		cause = err
	}
	if cause == nil {
		// An error gqlgen made itself (parse, validation, limits, request
		// decoding); its text names nothing internal.
		return presentGQLError(src, out)
	}

	if errors.Is(cause, errRecovered) {
		// Recover has logged the panic already.
		setCode(out, apierr.CodeInternal, apierr.MsgInternal)
		return out
	}
	if introspectionField(ctx) {
		// gqlgen's own plain error for __schema and __type with
		// introspection off (server's document guard refuses them first).
		setCode(out, apierr.CodeBadUserInput, "introspection is disabled")
		return out
	}
	if errors.Is(cause, graphql.ErrInvalidNull) {
		// A resolver or model returned nil for a non-null field: our fault
		// (gqlgen's *graphql.InvalidNullError, recognised by its sentinel).
		logError(ctx, cause, out, "null for a non-null field")
		setCode(out, apierr.CodeInternal, apierr.MsgInternal)
		return out
	}
	c := apierr.Classify(cause, now)
	if c.Log != "" {
		logError(ctx, cause, out, c.Log)
	}
	setCode(out, c.Code, c.Message)
	if c.RetrySeconds > 0 {
		out.Extensions["retryAfterSeconds"] = c.RetrySeconds
	}
	return out
}

// presentGQLError handles an error gqlgen created without an underlying
// error: parse and validation failures keep their text and code.
func presentGQLError(src, out *gqlerror.Error) *gqlerror.Error {
	out.Message = src.Message
	out.Rule = src.Rule
	code, _ := src.Extensions["code"].(string)
	switch code {
	case codeComplexityLimit:
		code = apierr.CodeQueryTooComplex
	case "":
		code = apierr.CodeBadUserInput
		// gqlgen quotes the whole request body back after a JSON decode
		// error; keep only the reason.
		if before, _, found := strings.Cut(out.Message, " body:"); found {
			out.Message = before
		}
	}
	out.Extensions = make(map[string]any, len(src.Extensions)+1)
	for k, v := range src.Extensions {
		out.Extensions[k] = v
	}
	out.Extensions["code"] = code
	return out
}

func setCode(out *gqlerror.Error, code, message string) {
	out.Message = message
	if out.Extensions == nil {
		out.Extensions = map[string]any{}
	}
	out.Extensions["code"] = code
}

// introspectionField reports whether ctx is the context of a __schema or
// __type field (by the field's name, not its alias).
func introspectionField(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && fc.Field.Field != nil && (fc.Field.Name == "__schema" || fc.Field.Name == "__type")
}

func logError(ctx context.Context, err error, out *gqlerror.Error, msg string) {
	ev := zerolog.Ctx(ctx).Error().Err(err)
	if len(out.Path) > 0 {
		ev = ev.Str("path", out.Path.String())
	}
	ev.Msg(msg)
}

// Recover is the gqlgen recover func: a panic in a resolver is logged with
// its stack and answered as INTERNAL_SERVER_ERROR; the stack never reaches
// the client.
func Recover(ctx context.Context, v any) error {
	// gqlparser panics with a *strconv.NumError when it turns a number
	// literal no Go type holds into an argument value; that is the
	// client's input, not a fault (issue 17 item 12). server's document
	// guard refuses such literals first; this is the safety net.
	var numErr *strconv.NumError
	if err, ok := v.(error); ok && errors.As(err, &numErr) {
		zerolog.Ctx(ctx).Debug().Str("value", clipValue(numErr.Num)).Msg("number out of range in a request")
		return &model.InputError{Message: fmt.Sprintf("the number %s is out of range; send large numbers as strings", clipValue(numErr.Num))}
	}
	zerolog.Ctx(ctx).Error().
		Str("panic", fmt.Sprint(v)).
		Bytes("stack", debug.Stack()).
		Msg("panic in resolver")
	return errRecovered
}

// clipValue shortens client text quoted back in a message.
func clipValue(s string) string {
	const n = 24
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
