package apierr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/callerlimit"
	"github.com/exactql/exactql/graph/model"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	upstream := func(log string) Class {
		return Class{Code: CodeUpstreamUnavailable, Status: http.StatusServiceUnavailable, Message: MsgUpstream, Log: log}
	}
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"unauthenticated", fmt.Errorf("x: %w", ErrUnauthenticated), Class{Code: CodeUnauthenticated, Status: 401, Message: "authentication required"}},
		{"forbidden", ErrForbidden, Class{Code: CodeForbidden, Status: 403, Message: "not allowed for this caller"}},
		{"not found", &NotFoundError{What: "order"}, Class{Code: CodeNotFound, Status: 404, Message: "order not found"}},
		{"erp not found", fmt.Errorf("x: %w", erp.ErrNotFound), Class{Code: CodeNotFound, Status: 404, Message: "not found"}},
		{"cache not found", fmt.Errorf("x: %w", cache.ErrNotFound), Class{Code: CodeNotFound, Status: 404, Message: "not found"}},
		{"erp 404", &erp.Error{StatusCode: 404}, Class{Code: CodeNotFound, Status: 404, Message: "not found"}},
		{"bad input", BadInputf("first: at most %d", 100), Class{Code: CodeBadUserInput, Status: 400, Message: "first: at most 100"}},
		{"scalar input", &model.InputError{Message: "Decimal: bad"}, Class{Code: CodeBadUserInput, Status: 400, Message: "Decimal: bad"}},
		{"invalid id", erp.ErrInvalidID, Class{Code: CodeBadUserInput, Status: 400, Message: "invalid ID"}},
		{"caller limit", &RateLimitedError{RetryAfter: 1500 * time.Millisecond}, Class{Code: CodeRateLimited, Status: 429, Message: MsgRateLimited, RetrySeconds: 2}},
		{"caller Exact budget", fmt.Errorf("x: %w", &callerlimit.LimitedError{RetryAfter: 7 * time.Second}), Class{Code: CodeRateLimited, Status: 429, Message: MsgRateLimited, RetrySeconds: 7}},
		{"Exact rate limit", &erp.RateLimitError{Reset: now.Add(42500 * time.Millisecond)}, Class{Code: CodeRateLimited, Status: 503, Message: MsgRateLimited, RetrySeconds: 43}},
		{"Exact rate limit passed", &erp.RateLimitError{Reset: now.Add(-time.Second)}, Class{Code: CodeRateLimited, Status: 503, Message: MsgRateLimited, RetrySeconds: 1}},
		{"upstream", &UpstreamError{Err: errors.New("mirror loading")}, upstream("Exact unavailable")},
		{"consent", fmt.Errorf("x: %w", erp.ErrConsentRequired), upstream("Exact consent required")},
		{"erp 503", &erp.Error{StatusCode: 503}, upstream("Exact unavailable")},
		{"erp refused", &erp.Error{StatusCode: 0, Reason: "error cap"}, upstream("Exact unavailable")},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), upstream("Exact unavailable")},
		{"network", &net.OpError{Op: "dial", Err: errors.New("refused")}, upstream("Exact unavailable")},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), Class{Code: CodeInternal, Status: 503, Message: "request cancelled"}},
		{"erp 400 is ours", &erp.Error{StatusCode: 400, Message: "Invalid $filter"}, Class{Code: CodeInternal, Status: 502, Message: MsgInternal, Log: "internal error"}},
		{"unknown", errors.New("boom https://x?token=SECRET"), Class{Code: CodeInternal, Status: 502, Message: MsgInternal, Log: "internal error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Classify(tt.err, now)); diff != "" {
				t.Errorf("Classify(%v) (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}
