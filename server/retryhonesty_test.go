package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/callerlimit"
	"github.com/exactql/exactql/graph"
	"github.com/exactql/exactql/graph/model"
)

// refusingRoot answers itemGroups with the error refuse returns: the
// refusal of a real governor or caller limiter.
type refusingRoot struct {
	testRoot
	refuse func(ctx context.Context) error
}

func (r refusingRoot) Query() graph.QueryResolver { return refusingQuery{refuse: r.refuse} }

type refusingQuery struct {
	testQuery
	refuse func(ctx context.Context) error
}

func (q refusingQuery) ItemGroups(ctx context.Context) ([]*model.ItemGroup, error) {
	return nil, q.refuse(ctx)
}

// rateHeaders are the X-RateLimit-* headers of an Exact answer.
func rateHeaders(minRem int, minReset time.Time, dayRem int, dayReset time.Time) http.Header {
	h := http.Header{}
	h.Set("X-RateLimit-Minutely-Limit", "60")
	h.Set("X-RateLimit-Minutely-Remaining", strconv.Itoa(minRem))
	h.Set("X-RateLimit-Minutely-Reset", strconv.FormatInt(minReset.UnixMilli(), 10))
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(dayRem))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(dayReset.UnixMilli(), 10))
	return h
}

// TestRetryAdviceIsTheRealWait (issue 13 point 9): when the governor
// (Exact's minutely or daily window) or the caller's budget refuses a
// request as a whole, extensions.retryAfterSeconds and the Retry-After
// header both equal the real time until a call would be admitted: the
// window's end (plus the governor's reset slack, 1 s, before which it
// admits nothing) or the caller bucket's refill of one call; and at that
// moment a call is admitted.
func TestRetryAdviceIsTheRealWait(t *testing.T) {
	const slack = time.Second // erp's default ResetSlack
	type refusal struct {
		refuse func(ctx context.Context) error
		want   int                           // seconds
		admits func(t *testing.T, after int) // a call goes after that wait
	}
	cases := map[string]func(t *testing.T) refusal{
		"Exact's minutely window": func(t *testing.T) refusal {
			now := time.Now()
			minReset := now.Add(42 * time.Second).Truncate(time.Millisecond)
			g := erp.NewGovernor(erp.GovernorOptions{MaxWait: time.Millisecond})
			g.Update(rateHeaders(0, minReset, 4000, now.Add(5*time.Hour)), 200)
			return refusal{
				refuse: func(ctx context.Context) error { _, err := g.Wait(ctx, erp.PriorityInteractive); return err },
				want:   int(math.Ceil(minReset.Add(slack).Sub(now).Seconds())),
			}
		},
		"Exact's daily window": func(t *testing.T) refusal {
			now := time.Now()
			dayReset := now.Add(2 * time.Hour).Truncate(time.Millisecond)
			g := erp.NewGovernor(erp.GovernorOptions{MaxWait: time.Millisecond})
			g.Update(rateHeaders(60, now.Add(30*time.Second), 0, dayReset), 200)
			return refusal{
				refuse: func(ctx context.Context) error { _, err := g.Wait(ctx, erp.PriorityInteractive); return err },
				want:   int(math.Ceil(dayReset.Add(slack).Sub(now).Seconds())),
			}
		},
		"the caller's budget": func(t *testing.T) refusal {
			clk := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
			lim, err := callerlimit.New(6, func(context.Context) string { return "caller" }, func() time.Time { return clk })
			if err != nil {
				t.Fatal(err)
			}
			for range 6 {
				if err := lim.Allow(context.Background()); err != nil {
					t.Fatalf("within budget: %v", err)
				}
			}
			clk = clk.Add(2500 * time.Millisecond) // a quarter of a call regained
			return refusal{
				refuse: lim.Allow,
				// 6 a minute: one call per 10 s, 2.5 s of it passed.
				want: 8,
				admits: func(t *testing.T, after int) {
					clk = clk.Add(time.Duration(after) * time.Second)
					if err := lim.Allow(context.Background()); err != nil {
						t.Errorf("%d s after the refusal the caller is still refused: %v", after, err)
					}
				},
			}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			r := mk(t)
			h, err := New(Config{JWTSecret: testSecret}, Deps{Logger: zerolog.Nop(), Resolvers: refusingRoot{refuse: r.refuse}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ itemGroups { id } }"}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body struct {
				Data   json.RawMessage
				Errors []struct {
					Extensions struct {
						Code              string
						RetryAfterSeconds *int
					}
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
			e := body.Errors[0].Extensions
			if e.Code != "RATE_LIMITED" || e.RetryAfterSeconds == nil {
				t.Fatalf("error extensions %+v, want RATE_LIMITED with retryAfterSeconds", e)
			}
			if *e.RetryAfterSeconds != r.want {
				t.Errorf("retryAfterSeconds = %d, want %d (the real wait)", *e.RetryAfterSeconds, r.want)
			}
			if got := rec.Header().Get("Retry-After"); got != strconv.Itoa(r.want) {
				t.Errorf("Retry-After = %q, want %d", got, r.want)
			}
			if r.admits != nil {
				r.admits(t, *e.RetryAfterSeconds)
			}
		})
	}
}
