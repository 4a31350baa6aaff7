package erp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
)

// Shape names a form of query whose support by Exact is UNCONFIRMED
// (exact-online-api.md §5.9). The first refusal (400 or 501) of a shape
// disables it for the rest of the process: callers then use its
// alternative, or fail at once without asking Exact again.
type Shape int

// The query shapes the gateway tracks.
const (
	// ShapeSubstringOf is substringof('text',Field) eq true in a $filter
	// (one Exact endpoint answered 501 in 2016). There is no alternative
	// at Exact: search needs the local mirror.
	ShapeSubstringOf Shape = iota
	// ShapeAccountEqNull is "Account eq null" on logistics/SalesItemPrices.
	// Its alternative asks for the items' rows without the Account clause
	// and keeps those without an account.
	ShapeAccountEqNull
	numShapes
)

// String returns the shape as it appears in a $filter.
func (s Shape) String() string {
	switch s {
	case ShapeSubstringOf:
		return "substringof"
	case ShapeAccountEqNull:
		return "Account eq null"
	}
	return fmt.Sprintf("Shape(%d)", int(s))
}

// ErrShapeRefused is matched (errors.Is) by the *Error returned without
// calling Exact for a query of a shape Exact refused earlier in this
// process. IsTransient is false: asking again cannot help.
var ErrShapeRefused = errors.New("erp: Exact refused this form of query earlier")

const reasonShapeRefused = "QueryShapeRefused"

// shapeState is what the client knows of one shape.
type shapeState struct {
	refused   atomic.Bool
	confirmed atomic.Bool   // a query of the shape succeeded
	probe     chan struct{} // one query at a time until confirmed
	_         [0]func()     // not comparable
}

func newShapeStates() *[numShapes]shapeState {
	var s [numShapes]shapeState
	for i := range s {
		s[i].probe = make(chan struct{}, 1)
	}
	return &s
}

// ShapeRefused reports whether Exact refused queries of shape s in this
// process.
func (c *Client) ShapeRefused(s Shape) bool {
	return s >= 0 && s < numShapes && c.shapes[s].refused.Load()
}

// DisableShape marks s as refused without asking Exact, as if Exact had
// refused it (for configuration that knows better, and tests).
func (c *Client) DisableShape(s Shape) {
	if s >= 0 && s < numShapes {
		c.shapes[s].refused.Store(true)
	}
}

// UseShape runs call, which sends queries of shape s to endpoint. When Exact
// refused s before, it returns an *Error matching ErrShapeRefused without
// running call. When call fails with 400 or 501, s is disabled for the
// process and the error returned matches ErrShapeRefused as well as
// carrying Exact's answer. Until one query of the shape has succeeded,
// calls run one at a time, so a burst of requests costs at most one
// refused call (and one error toward Exact's hourly block).
func (c *Client) UseShape(ctx context.Context, s Shape, endpoint string, call func(context.Context) error) error {
	if s < 0 || s >= numShapes {
		return call(ctx)
	}
	st := &c.shapes[s]
	refusedErr := func(cause error) error {
		e := &Error{Method: http.MethodGet, Endpoint: endpoint, Reason: reasonShapeRefused,
			Message: "Exact does not accept " + s.String() + " in a query; not asking again"}
		if cause != nil {
			return &shapeError{e: e, cause: cause}
		}
		return e
	}
	if st.refused.Load() {
		return refusedErr(nil)
	}
	if !st.confirmed.Load() {
		select {
		case st.probe <- struct{}{}:
			defer func() { <-st.probe }()
		case <-ctx.Done():
			return ctx.Err()
		}
		if st.refused.Load() {
			return refusedErr(nil)
		}
	}
	err := call(ctx)
	switch {
	case err == nil:
		st.confirmed.Store(true)
		return nil
	case isShapeRefusal(err):
		st.refused.Store(true)
		return refusedErr(err)
	}
	return err
}

// shapeError is the first refusal of a shape: it matches ErrShapeRefused
// and unwraps to Exact's answer.
type shapeError struct {
	e     *Error
	cause error
}

func (e *shapeError) Error() string { return e.e.Error() + ": " + e.cause.Error() }
func (e *shapeError) Is(target error) bool {
	return target == ErrShapeRefused
}
func (e *shapeError) Unwrap() error { return e.cause }

// As makes errors.As find the refusal itself (status 0, not Exact's 400 or
// 501) first: to a caller it means "unavailable", not "bad input".
func (e *shapeError) As(target any) bool {
	if t, ok := target.(**Error); ok {
		*t = e.e
		return true
	}
	return false
}
