package resolvers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/orders"
)

func TestOrderErrMapsAbuseErrors(t *testing.T) {
	var rl *apierr.RateLimitedError
	err := orderErr(fmt.Errorf("wrapped: %w", &orders.TooManyAttemptsError{RetryAfter: 7 * time.Second}))
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("TooManyAttemptsError → %T %v; want *apierr.RateLimitedError retrying after 7s", err, err)
	}
	var bad *apierr.BadInputError
	if err := orderErr(orders.ErrInvalidCursor); !errors.As(err, &bad) {
		t.Errorf("ErrInvalidCursor → %T %v; want *apierr.BadInputError", err, err)
	}
}
