package erp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ErrNotFound is returned by lookups that found no record. Lookups use
// $filter, so Exact answers an empty result rather than a 404.
var ErrNotFound = errors.New("erp: not found")

// ErrConsentRequired means Exact no longer accepts the stored refresh token
// (an old refresh token was used, it expired, or it was revoked): a person
// must run `exactql auth` to consent again.
var ErrConsentRequired = errors.New("erp: Exact consent required: run `exactql auth`")

// ErrInvalidID is returned when a key that must be a GUID is not one. Nothing
// is sent to Exact.
var ErrInvalidID = errors.New("erp: invalid ID")

// ErrForeignURL is returned for a __next or picture URL that is not on the
// configured Exact host: the client never sends its token elsewhere.
var ErrForeignURL = errors.New("erp: URL is not on the Exact host")

// ErrUnreadableResponse means Exact answered a write with success but the
// created record could not be read from the answer. IsTransient reports it
// as transient: the outcome is known to Exact but not to the caller.
var ErrUnreadableResponse = errors.New("erp: Exact accepted the request but its response was unreadable")

// ErrEndpointBlocked is matched (errors.Is) by the *Error returned without
// calling Exact because the endpoint received ErrorCapPerHour error
// responses within the last hour. Nothing was sent; IsTransient is true.
var ErrEndpointBlocked = errors.New("erp: endpoint paused after too many error responses")

const reasonErrorCap = "ErrorCapReached"

// Error is an error response from Exact. Its message carries Exact's own text
// (from {"error":{"message":{"value":…}}}) but never a URL query, a token or
// a secret.
type Error struct {
	// StatusCode is the HTTP status; 0 when the client refused to call
	// because the endpoint's hourly error cap was reached.
	StatusCode int
	// Code is Exact's error code (often empty).
	Code string
	// Message is Exact's error text through SafeMessage.
	Message string
	// Endpoint is the API path below the division, e.g. "logistics/Items".
	Endpoint string
	// Reason is Exact's Reason header (403: BlockedUser, NoDivisionAccess, …)
	// or, for a refused call, why it was refused.
	Reason string
	// Method is the HTTP method.
	Method string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("erp: ")
	if e.Method != "" {
		b.WriteString(e.Method + " ")
	}
	b.WriteString(e.Endpoint)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for a 404,
// errors.Is(err, ErrEndpointBlocked) true for a call refused by the error cap
// and errors.Is(err, ErrShapeRefused) true for a query shape not asked again.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrEndpointBlocked:
		return e.StatusCode == 0 && e.Reason == reasonErrorCap
	case ErrShapeRefused:
		return e.StatusCode == 0 && e.Reason == reasonShapeRefused
	}
	return false
}

// RateLimitError means Exact's rate budget does not allow the call now: Exact
// answered 429, or the governor would have had to wait past MaxWait or the
// context's deadline. Reset is when calls may go again. ErrorCap marks a
// read that waited past MaxWait behind calls in flight to an endpoint at
// its hourly cap of error answers (Reset is then when the cap admits it
// for certain).
type RateLimitError struct {
	Reset    time.Time
	Minutely bool
	Endpoint string
	ErrorCap bool
}

// Error implements error.
func (e *RateLimitError) Error() string {
	window := "daily"
	switch {
	case e.ErrorCap:
		window = "error-cap"
	case e.Minutely:
		window = "minutely"
	}
	ep := ""
	if e.Endpoint != "" {
		ep = " " + e.Endpoint
	}
	return fmt.Sprintf("erp:%s: Exact %s rate limit reached until %s", ep, window, e.Reset.UTC().Format(time.RFC3339))
}

// transportError is a failure to get any response (connection refused,
// reset, timeout). The URL is left out on purpose.
type transportError struct {
	method, endpoint string
	err              error
}

func (e *transportError) Error() string {
	return "erp: " + e.method + " " + e.endpoint + ": " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// IsTransient reports whether err may go away by itself: timeouts, connection
// errors, 5xx, rate limits and endpoints paused by the error cap. For a POST it means the outcome is unknown:
// the order may or may not have been created.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrConsentRequired) || errors.Is(err, context.Canceled) {
		return false
	}
	var rl *RateLimitError
	if errors.As(err, &rl) || errors.Is(err, ErrUnreadableResponse) || errors.Is(err, ErrBudgetUnavailable) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		// 501 is a refusal of the query's form, not an outage.
		return (e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented) ||
			e.StatusCode == http.StatusTooManyRequests || e.Is(ErrEndpointBlocked)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return false
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
