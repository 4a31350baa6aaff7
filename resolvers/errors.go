package resolvers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
)

// Error codes sent in extensions.code (ARCHITECTURE §8). gqlgen's own
// errcode.ParseFailed and errcode.ValidationFailed are kept as they are.
const (
	CodeUnauthenticated     = "UNAUTHENTICATED"
	CodeForbidden           = "FORBIDDEN"
	CodeNotFound            = "NOT_FOUND"
	CodeBadUserInput        = "BAD_USER_INPUT"
	CodeRateLimited         = "RATE_LIMITED"
	CodeUpstreamUnavailable = "UPSTREAM_UNAVAILABLE"
	CodeQueryTooComplex     = "QUERY_TOO_COMPLEX"
	CodeInternal            = "INTERNAL_SERVER_ERROR"
)

// codeComplexityLimit is what gqlgen's extension.ComplexityLimit sets; the
// presenter answers it as QUERY_TOO_COMPLEX.
const codeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"

// gqlgenIntrospectionDisabled is the text of the plain error gqlgen returns
// for __schema and __type when introspection is off.
const gqlgenIntrospectionDisabled = "introspection disabled"

// Fixed client-facing messages for errors whose own text must not be shown.
const (
	msgInternal    = "internal error"
	msgUpstream    = "the ERP system is temporarily unavailable; try again later"
	msgRateLimited = "too many requests; try again later"
)

var (
	// ErrUnauthenticated means the operation needs a signed-in caller.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden means the caller is signed in but may not do this (no
	// exact_account in the token, or a blocked account).
	ErrForbidden = errors.New("not allowed for this caller")
)

// NotFoundError means the thing asked for does not exist or is not the
// caller's; both answer alike so IDs of other buyers cannot be probed.
type NotFoundError struct {
	// What names the kind of thing, e.g. "order".
	What string
}

// Error implements error.
func (e *NotFoundError) Error() string {
	if e.What == "" {
		return "not found"
	}
	return e.What + " not found"
}

// BadInputError is an argument the resolver refuses (e.g. first > 100, a
// search shorter than 2 characters). Message is shown to the client as is.
type BadInputError struct {
	Message string
}

// Error implements error.
func (e *BadInputError) Error() string { return e.Message }

// BadInputf returns a *BadInputError with a formatted message.
func BadInputf(format string, args ...any) error {
	return &BadInputError{Message: fmt.Sprintf(format, args...)}
}

// RateLimitedError means the caller's own budget of Exact calls is spent
// (ARCHITECTURE §7). RetryAfter is how long until it has room again.
type RateLimitedError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("caller rate limit reached; retry after %s", e.RetryAfter)
}

// UpstreamError means data needed from Exact could neither be read from the
// cache nor obtained from Exact (ARCHITECTURE §6.2): UPSTREAM_UNAVAILABLE.
type UpstreamError struct {
	Err error
}

// Error implements error.
func (e *UpstreamError) Error() string { return "upstream unavailable: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *UpstreamError) Unwrap() error { return e.Err }

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

	var (
		notFound  *NotFoundError
		badInput  *BadInputError
		inputErr  *model.InputError
		rateLimit *RateLimitedError
		erpRate   *erp.RateLimitError
		erpErr    *erp.Error
		upstream  *UpstreamError
		retrier   interface{ RetryAfterSeconds() int }
	)
	switch {
	case errors.Is(cause, errRecovered):
		// Recover has logged the panic already.
		setCode(out, CodeInternal, msgInternal)
	case errors.Is(cause, ErrUnauthenticated):
		setCode(out, CodeUnauthenticated, ErrUnauthenticated.Error())
	case errors.Is(cause, ErrForbidden):
		setCode(out, CodeForbidden, ErrForbidden.Error())
	case errors.As(cause, &notFound):
		setCode(out, CodeNotFound, notFound.Error())
	case errors.Is(cause, erp.ErrNotFound):
		setCode(out, CodeNotFound, "not found")
	case errors.As(cause, &badInput):
		setCode(out, CodeBadUserInput, badInput.Message)
	case errors.As(cause, &inputErr):
		setCode(out, CodeBadUserInput, inputErr.Message)
	case errors.Is(cause, erp.ErrInvalidID):
		setCode(out, CodeBadUserInput, "invalid ID")
	case errors.As(cause, &rateLimit):
		setCode(out, CodeRateLimited, msgRateLimited)
		out.Extensions["retryAfterSeconds"] = retrySeconds(rateLimit.RetryAfter)
	case errors.As(cause, &retrier):
		// The per-caller budget (erp/callerlimit).
		setCode(out, CodeRateLimited, msgRateLimited)
		out.Extensions["retryAfterSeconds"] = max(1, retrier.RetryAfterSeconds())
	case errors.As(cause, &erpRate):
		setCode(out, CodeRateLimited, msgRateLimited)
		out.Extensions["retryAfterSeconds"] = retrySeconds(erpRate.Reset.Sub(now))
	case errors.As(cause, &upstream):
		logError(ctx, cause, out, "Exact unavailable")
		setCode(out, CodeUpstreamUnavailable, msgUpstream)
	case errors.Is(cause, erp.ErrConsentRequired):
		logError(ctx, cause, out, "Exact consent required")
		setCode(out, CodeUpstreamUnavailable, msgUpstream)
	case errors.As(cause, &erpErr) && (erpErr.StatusCode == 0 || erpErr.StatusCode >= 500):
		// StatusCode 0: the client refused the call to protect the app key.
		logError(ctx, cause, out, "Exact unavailable")
		setCode(out, CodeUpstreamUnavailable, msgUpstream)
	case cause.Error() == gqlgenIntrospectionDisabled:
		setCode(out, CodeBadUserInput, "introspection is disabled")
	case errors.Is(cause, context.Canceled):
		setCode(out, CodeInternal, "request cancelled")
	case erp.IsTransient(cause):
		// Timeouts, lost connections, 429 answers that reached us as *erp.Error.
		logError(ctx, cause, out, "Exact unavailable")
		setCode(out, CodeUpstreamUnavailable, msgUpstream)
	default:
		logError(ctx, cause, out, "internal error")
		setCode(out, CodeInternal, msgInternal)
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
		code = CodeQueryTooComplex
	case "":
		code = CodeBadUserInput
		// gqlgen quotes the whole request body back after a JSON decode
		// error; keep only the reason.
		if before, _, found := strings.Cut(out.Message, " body:"); found {
			out.Message = before
		}
		if strings.Contains(out.Message, "must not be null") {
			// A resolver returned nil for a non-null field: our fault.
			code = CodeInternal
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

// retrySeconds rounds d up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
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
