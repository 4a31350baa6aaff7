package erp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestReadErrorBurstNeverBlocksOrderPOST: 30 concurrent reads of
// salesorder/SalesOrders that Exact answers 400 (a forged cursor, issue 17
// item 4) reach Exact at most 5 times, even all at once; the order POST to
// the same endpoint then still goes and succeeds, and POSTs stop themselves
// at 9 errors of the hour, below Exact's block at 10.
func TestReadErrorBurstNeverBlocksOrderPOST(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	id := ids(1)[0]
	var gets, posts atomic.Int32
	var postFails atomic.Bool
	mux.HandleFunc(apiPrefix+"salesorder/SalesOrders", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":{"value":"Error in query syntax."}}}`)
			return
		}
		posts.Add(1)
		if postFails.Load() {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":{"value":"Invalid sales order."}}}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"d":{"OrderID":"%s","OrderNumber":1}}`, id)
	})
	var wg sync.WaitGroup
	var blocked atomic.Int32
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.SalesOrders.Find(context.Background(), Query{Filter: Eq("YourRef", String("x"))})
			if errors.Is(err, ErrEndpointBlocked) {
				blocked.Add(1)
			} else if err == nil {
				t.Error("a read answered 400 succeeded")
			}
		}()
	}
	wg.Wait()
	if n := gets.Load(); n != 5 {
		t.Errorf("%d failing reads reached Exact, want exactly 5", n)
	}
	if blocked.Load() != 25 {
		t.Errorf("%d reads refused by the cap, want 25", blocked.Load())
	}
	order := &NewSalesOrder{OrderedBy: id, SalesOrderLines: []NewSalesOrderLine{{Item: id, Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(2)}}}
	if o, err := c.SalesOrders.Create(t.Context(), order); err != nil || o.OrderID != id {
		t.Fatalf("order POST after the read burst: %v", err)
	}
	if got := c.Governor().EndpointErrors()["salesorder/SalesOrders"]; got != 5 {
		t.Errorf("errors counted %d, want 5", got)
	}

	// Failing POSTs: 4 more reach Exact (9 in all), the next is refused
	// before it is sent.
	postFails.Store(true)
	before := posts.Load()
	for i := range 5 {
		_, err := c.SalesOrders.Create(t.Context(), order)
		if i < 4 && (err == nil || errors.Is(err, ErrEndpointBlocked)) {
			t.Errorf("POST %d: %v, want Exact's 400", i, err)
		}
		if i == 4 && !errors.Is(err, ErrEndpointBlocked) {
			t.Errorf("POST %d: %v, want ErrEndpointBlocked", i, err)
		}
	}
	if n := posts.Load() - before; n != 4 {
		t.Errorf("%d failing POSTs reached Exact, want 4", n)
	}
	if got := c.Governor().EndpointErrors()["salesorder/SalesOrders"]; got != 9 {
		t.Errorf("errors counted %d, want 9 (Exact blocks at 10)", got)
	}
}

// TestOnly4xxCount: 5xx answers are retried and not counted toward the
// error cap (Exact counts 400, 401, 403, 404); 501 is not retried.
func TestOnly4xxCount(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var calls atomic.Int32
	status := atomic.Int32{}
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(int(status.Load()))
		fmt.Fprint(w, `{"error":{"message":{"value":"no"}}}`)
	})
	status.Store(503)
	for range 3 {
		_, _ = c.Items.GetByIDs(t.Context(), ids(1))
	}
	if n := calls.Load(); n != 9 {
		t.Errorf("503: %d calls, want 3 attempts × 3", n)
	}
	if got := c.Governor().EndpointErrors()["logistics/Items"]; got != 0 {
		t.Errorf("503s counted as %d errors", got)
	}
	calls.Store(0)
	status.Store(501)
	_, err := c.Items.GetByIDs(t.Context(), ids(1))
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 501 || calls.Load() != 1 {
		t.Errorf("501: %v after %d calls, want one call", err, calls.Load())
	}
}

// TestAdmitErrorsWaitsForInflight: with the cap reached only by calls in
// flight, a read waits for one to end; a success lets it go, a context end
// releases it with the context's error.
func TestAdmitErrorsWaitsForInflight(t *testing.T) {
	clk := newFakeClock()
	g := NewGovernor(GovernorOptions{Now: clk.Now, ErrorCapPerHour: 2})
	ctx := t.Context()
	d1, _, _ := g.admitErrors(ctx, "ep", false)
	d2, _, _ := g.admitErrors(ctx, "ep", false)
	if d1 == nil || d2 == nil {
		t.Fatal("first two calls not admitted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, capped, err := g.admitErrors(cctx, "ep", false); capped || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: capped %v, err %v", capped, err)
	}
	// A read waits at most MaxWait for a slot, then gets a rate-limit error.
	short := NewGovernor(GovernorOptions{Now: clk.Now, ErrorCapPerHour: 1, MaxWait: time.Nanosecond})
	sd, _, _ := short.admitErrors(ctx, "ep", false)
	var rl *RateLimitError
	if _, capped, err := short.admitErrors(ctx, "ep", false); capped || !errors.As(err, &rl) || rl.Endpoint != "ep" {
		t.Errorf("read waiting past MaxWait: capped %v, err %v; want a *RateLimitError", capped, err)
	}
	sd(200)
	// A write has more headroom and goes at once.
	dw, capped, err := g.admitErrors(ctx, "ep", true)
	if dw == nil || capped || err != nil {
		t.Fatalf("write not admitted: %v %v", capped, err)
	}
	dw(201)
	got := make(chan bool, 1)
	go func() {
		d, capped, err := g.admitErrors(ctx, "ep", false)
		if d != nil {
			d(200)
		}
		got <- d != nil && !capped && err == nil
	}()
	d1(200) // a success frees a slot
	if !<-got {
		t.Error("waiting read not admitted after a call succeeded")
	}
	d2(404)
	d3, _, _ := g.admitErrors(ctx, "ep", false)
	d3(400)
	if _, capped, _ := g.admitErrors(ctx, "ep", false); !capped {
		t.Error("reads not capped after 2 errors")
	}
	if d, capped, _ := g.admitErrors(ctx, "ep", true); capped || d == nil {
		t.Error("a write was capped at the read cap")
	} else {
		d(0)
	}
}

// TestAdmitErrorsRetryAtIsReal: a read that waited MaxWait for a call in
// flight gets a *RateLimitError whose Reset is when the governor admits a
// read for certain (the hour's recorded 4xx answers aged out far enough
// that every call in flight could fail and leave room), never a constant.
func TestAdmitErrorsRetryAtIsReal(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, ErrorCapPerHour: 3, MaxWait: time.Millisecond})
	ctx := context.Background()
	// Two 4xx answers, ten minutes apart.
	for range 2 {
		d, _, err := g.admitErrors(ctx, "ep", false)
		if err != nil || d == nil {
			t.Fatalf("admit: %v", err)
		}
		d(404)
		clk.Advance(10 * time.Minute)
	}
	// One call in flight: 2 recorded + 1 in flight reach the cap of 3.
	inflight, _, _ := g.admitErrors(ctx, "ep", false)
	var rl *RateLimitError
	if _, capped, err := g.admitErrors(ctx, "ep", false); capped || !errors.As(err, &rl) || !rl.ErrorCap {
		t.Fatalf("read behind a call in flight: capped %v, err %v; want an error-cap *RateLimitError", capped, err)
	}
	// Room for certain once the first answer (at start) leaves the hour.
	if want := start.Add(time.Hour); !rl.Reset.Equal(want) {
		t.Errorf("Reset = %v, want %v (the oldest 4xx answer's hour end)", rl.Reset, want)
	}
	clk.Advance(time.Hour - 20*time.Minute) // exactly start+1h
	d, capped, err := g.admitErrors(ctx, "ep", false)
	if err != nil || capped || d == nil {
		t.Fatalf("at the announced Reset the read is not admitted: capped %v, err %v", capped, err)
	}
	d(200)
	inflight(200)

	// Calls in flight alone at the cap: an hour from now, if they fail.
	g2 := NewGovernor(GovernorOptions{Now: clk.Now, ErrorCapPerHour: 1, MaxWait: time.Millisecond})
	held, _, _ := g2.admitErrors(ctx, "ep", false)
	if _, _, err := g2.admitErrors(ctx, "ep", false); !errors.As(err, &rl) || !rl.Reset.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("cap held by a call in flight: err %v, want Reset %v", err, clk.Now().Add(time.Hour))
	}
	held(200)
}
