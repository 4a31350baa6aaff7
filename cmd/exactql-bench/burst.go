package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// burstQuery is issue 12's fallback-burst query.
const burstQuery = `query($c: String!) { product(code: $c) { price { unitPrice { amount } } stock { available } availableQuantity } }`

// burstOutcome counts one burst's answers.
type burstOutcome struct {
	Full, Null, Refused, Other int
	Partial                    int // refused, with part of the product
	OtherSample                string
	Calls                      map[string]int // by endpoint
	Total                      int
}

// fallbackBurst (issue 12, "Fallback burst"): the mirror off, the caller
// budget lifted, one buyer sends 200 distinct cold product(code:) queries,
// 10 at a time, under a 30-call minute. Counts the fully answered queries,
// those refused with RATE_LIMITED and a retryAfterSeconds, anything else,
// and the Exact calls by endpoint.
func (e *env) fallbackBurst(rep *report) error {
	s := rep.section("Fallback burst: 200 distinct cold product(code:) queries (price, stock, availableQuantity), 10 at a time, one buyer, mirror off, 30-call minute",
		"buyer", "answered fully", "of which no product", "refused (RATE_LIMITED, retryAfterSeconds > 0)", "of which half-answered", "other", "Exact calls", "calls per answer", "calls by endpoint", "goal", "verdict")
	o := sandboxOptions(gen.DefaultItems, 0, today, 30, 5000)
	cat, err := loadCatalog(o)
	if err != nil {
		return err
	}
	codes := spread(cat.Codes, 200)
	cases := []struct{ rule, label string }{
		{gen.RuleCustomerPrice, "price agreements"},
		{gen.RulePriceList, "price list"},
		{gen.RuleDefaultPrice, "default prices"},
	}
	if e.quick {
		cases = cases[:1]
	}
	for _, tc := range cases {
		e.log("fallback burst: %s buyer", tc.label)
		out, err := e.burstOnce(o, tc.rule, codes)
		if err != nil {
			s.add(tc.label, "error: "+err.Error(), "", "", "", "", "", "", "", "", "")
			continue
		}
		var by []string
		for k, v := range out.Calls {
			by = append(by, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(by)
		per := "–"
		if out.Full > 0 {
			per = fmt.Sprintf("%.2f", float64(out.Total)/float64(out.Full))
		}
		ok := out.Full >= 100 && out.Other == 0 && out.Full+out.Refused == len(codes)
		s.add(tc.label, out.Full, out.Null, out.Refused, out.Partial, out.Other, out.Total, per, strings.Join(by, ", "), "≥ 100 answered, others refused", met(ok))
		if out.OtherSample != "" {
			s.note("%s: e.g. %s", tc.label, out.OtherSample)
		}
	}
	s.note("a fresh gateway per buyer (cold cache, EXACTQL_SYNC=false, EXACTQL_CALLER_BUDGET lifted) against a sandbox with the default 2,000 items, 30 calls a minute; the burst starts early in a clock minute (the sandbox counts in clock-aligned minutes); the gateway keeps 10 %% of each minute for order writes, so reads have 27 calls")
	s.note("each answer needs its item, its price rows and its stock rows, each from a call; a call carries the keys of the queries in flight (at most 10), so at least 3 calls per 10 answers: with 3 calls for the buyer and the warehouses, 27 read calls answer at most 80 (price agreements, default prices); a price-list buyer adds volume discounts (a 4th call per round) and its periods")
	return nil
}

// spread picks n codes spread over the catalogue.
func spread(codes []string, n int) []string {
	if len(codes) <= n {
		return codes
	}
	out := make([]string, 0, n)
	step := len(codes) / n
	for i := 0; len(out) < n; i += step {
		out = append(out, codes[i])
	}
	return out
}

// burstOnce runs one burst on a fresh gateway.
func (e *env) burstOnce(o sandbox.Options, rule string, codes []string) (burstOutcome, error) {
	out := burstOutcome{Calls: map[string]int{}}
	g, err := e.gateway("burst", gatewayOptions{Sandbox: o, Env: map[string]string{
		"EXACTQL_SYNC": "false", "EXACTQL_CALLER_BUDGET": "100000"}})
	if err != nil {
		return out, err
	}
	defer g.Close()
	b, err := demoBuyer(g.SB, rule)
	if err != nil {
		return out, err
	}
	// One clock minute of the sandbox's budget for the whole burst.
	if sec := time.Now().Second(); sec > 30 {
		time.Sleep(time.Duration(61-sec) * time.Second)
	}
	g.SB.ResetCalls()
	var mu sync.Mutex
	next := make(chan string)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for c := range next {
				r, err := query(e.ctx, g.client, g.URL, b.Token, burstQuery, map[string]any{"c": c})
				mu.Lock()
				switch {
				case err != nil:
					out.Other++
					out.OtherSample = err.Error()
				case len(r.Errors) == 0:
					out.Full++
					var d struct{ Product *json.RawMessage }
					if json.Unmarshal(r.Data, &d) == nil && d.Product == nil {
						out.Null++
					}
				case refusedWithRetry(r):
					out.Refused++
					var d struct{ Product *json.RawMessage }
					if json.Unmarshal(r.Data, &d) == nil && d.Product != nil {
						out.Partial++
					}
				default:
					out.Other++
					out.OtherSample = r.Code() + ": " + r.Errors[0].Message
				}
				mu.Unlock()
			}
		})
	}
	for _, c := range codes {
		next <- c
	}
	close(next)
	wg.Wait()
	for _, c := range g.SB.Calls() {
		if c.Kind == sandbox.KindAPI {
			k := c.Endpoint
			if c.Status != 200 {
				k += fmt.Sprintf(" (%d)", c.Status)
			}
			out.Calls[k]++
			out.Total++
		}
	}
	return out, nil
}

// refusedWithRetry reports whether every error is RATE_LIMITED with a
// retryAfterSeconds above 0.
func refusedWithRetry(r *gqlResponse) bool {
	for _, e := range r.Errors {
		code, _ := e.Extensions["code"].(string)
		retry, _ := e.Extensions["retryAfterSeconds"].(float64)
		if code != "RATE_LIMITED" || retry <= 0 {
			return false
		}
	}
	return len(r.Errors) > 0
}
