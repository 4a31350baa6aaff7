package erp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestSentHookCountsSentCallsOnly: erp.WithSentHook reports exactly the API
// calls the sandbox received, and nothing for a call the governor refused
// before sending it (the mirror's per-feed call counter relies on this).
func TestSentHookCountsSentCallsOnly(t *testing.T) {
	gov := erp.NewGovernor(erp.GovernorOptions{MinuteLimit: 3, MaxWait: 10 * time.Millisecond})
	c, sb := sandboxClient(t, sandbox.Options{Data: gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers}}, erp.WithGovernor(gov))
	sent := 0
	ctx := erp.WithSentHook(context.Background(), func() { sent++ })
	api := func() int { return sb.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI }) }
	var refused *erp.RateLimitError
	for i := 0; i < 10 && refused == nil; i++ {
		if _, err := c.Items.GetByCodes(ctx, []string{"NO-SUCH-CODE"}); err != nil && !errors.As(err, &refused) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if refused == nil {
		t.Fatal("the governor never refused a call under a 3-call minute")
	}
	if sent == 0 || sent != api() {
		t.Errorf("hook reported %d sent calls; the sandbox received %d API calls", sent, api())
	}
	before := sent
	if _, err := c.Items.GetByCodes(ctx, []string{"NO-SUCH-CODE"}); !errors.As(err, &refused) {
		t.Fatalf("want the governor's refusal, got %v", err)
	}
	if sent != before {
		t.Errorf("a refused call was reported as sent (%d → %d)", before, sent)
	}
}
