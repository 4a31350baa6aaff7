// Package apierr owns the API's error codes (ARCHITECTURE §8), the typed
// errors the resolvers return, and the one table that classifies any error
// into a code, a client-safe message and an HTTP status. The GraphQL error
// presenter (resolvers.PresentError) and the plain HTTP handlers that fetch
// from Exact (server/images) both answer through Classify, so an error
// means the same to every client. Errors are recognised by their type or
// sentinel (errors.As, errors.Is), never by their text.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/callerlimit"
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

// Fixed client-facing messages for errors whose own text must not be shown.
const (
	MsgInternal    = "internal error"
	MsgUpstream    = "the ERP system is temporarily unavailable; try again later"
	MsgRateLimited = "too many requests; try again later"
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

// RateLimitedError means the caller's own budget is spent (ARCHITECTURE §7).
// RetryAfter is how long until it has room again.
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

// Class is what an error means to a client.
type Class struct {
	// Code is the extensions.code of a GraphQL error.
	Code string
	// Status is the HTTP status of a plain HTTP answer that fetched from
	// Exact (server/images): an unexplained failure there is 502.
	Status int
	// Message is the client-facing text: the error's own where it was
	// written for clients, a fixed one otherwise.
	Message string
	// RetrySeconds is, for RATE_LIMITED, when to try again (at least 1);
	// 0 otherwise.
	RetrySeconds int
	// Log is the log message for an error that is the gateway's or Exact's
	// fault (the error itself is logged with it, never sent); "" for errors
	// that are the client's or expected.
	Log string
}

// Classify maps err (wrapped or not) to its class; now dates Exact's rate
// limit resets. The order of the rows matters: the first that matches wins.
func Classify(err error, now time.Time) Class {
	var (
		notFound  *NotFoundError
		badInput  *BadInputError
		inputErr  *model.InputError
		rateLimit *RateLimitedError
		callerLim *callerlimit.LimitedError
		erpRate   *erp.RateLimitError
		erpErr    *erp.Error
		upstream  *UpstreamError
	)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return Class{Code: CodeUnauthenticated, Status: http.StatusUnauthorized, Message: ErrUnauthenticated.Error()}
	case errors.Is(err, ErrForbidden):
		return Class{Code: CodeForbidden, Status: http.StatusForbidden, Message: ErrForbidden.Error()}
	case errors.As(err, &notFound):
		return Class{Code: CodeNotFound, Status: http.StatusNotFound, Message: notFound.Error()}
	case errors.Is(err, erp.ErrNotFound), errors.Is(err, cache.ErrNotFound):
		return Class{Code: CodeNotFound, Status: http.StatusNotFound, Message: "not found"}
	case errors.As(err, &badInput):
		return Class{Code: CodeBadUserInput, Status: http.StatusBadRequest, Message: badInput.Message}
	case errors.As(err, &inputErr):
		return Class{Code: CodeBadUserInput, Status: http.StatusBadRequest, Message: inputErr.Message}
	case errors.Is(err, erp.ErrInvalidID):
		return Class{Code: CodeBadUserInput, Status: http.StatusBadRequest, Message: "invalid ID"}
	case errors.As(err, &rateLimit):
		return rateLimited(http.StatusTooManyRequests, rateLimit.RetryAfter)
	case errors.As(err, &callerLim):
		// The per-caller budget of Exact calls (erp/callerlimit).
		return rateLimited(http.StatusTooManyRequests, callerLim.RetryAfter)
	case errors.As(err, &erpRate):
		// Exact's own limit: the gateway's upstream is busy, not the caller.
		return rateLimited(http.StatusServiceUnavailable, erpRate.Reset.Sub(now))
	case errors.As(err, &upstream):
		return upstreamClass("Exact unavailable")
	case errors.Is(err, erp.ErrConsentRequired):
		return upstreamClass("Exact consent required")
	case errors.As(err, &erpErr) && (erpErr.StatusCode == 0 || erpErr.StatusCode >= 500):
		// StatusCode 0: the client refused the call to protect the app key.
		return upstreamClass("Exact unavailable")
	case errors.Is(err, context.Canceled):
		return Class{Code: CodeInternal, Status: http.StatusServiceUnavailable, Message: "request cancelled"}
	case erp.IsTransient(err):
		// Timeouts, lost connections, 429 answers that reached us as *erp.Error.
		return upstreamClass("Exact unavailable")
	}
	return Class{Code: CodeInternal, Status: http.StatusBadGateway, Message: MsgInternal, Log: "internal error"}
}

func rateLimited(status int, retryAfter time.Duration) Class {
	return Class{Code: CodeRateLimited, Status: status, Message: MsgRateLimited, RetrySeconds: RetrySeconds(retryAfter)}
}

func upstreamClass(log string) Class {
	return Class{Code: CodeUpstreamUnavailable, Status: http.StatusServiceUnavailable, Message: MsgUpstream, Log: log}
}

// RetrySeconds rounds d up to whole seconds, at least 1.
func RetrySeconds(d time.Duration) int {
	return max(int(math.Ceil(d.Seconds())), 1)
}
