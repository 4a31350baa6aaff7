package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// The two queries of the in-process comparison: the same 60-product shape.
const (
	bareQuery  = `{ products(first: 60) { id code description unit price } }`
	exactQuery = `{ products(first: 60) { nodes { id code description unit price { unitPrice { amount } } } } }`
)

// issue15Query is issue 15's warm priced page, the throughput comparison's
// shape; bare15Query is the identical nested shape from the bare server
// (its field is named productPage).
const (
	issue15Query = `{ products(first: 60) { nodes { code description price { unitPrice { amount } } availableQuantity } } }`
	bare15Query  = `{ productPage(first: 60) { nodes { code description price { unitPrice { amount } } availableQuantity } } }`
)

// throughputRun is one measured round of one server.
type throughputRun struct {
	res      loadResult
	cpuTicks int64
}

// throughput alternates load on the bare gqlgen baseline and on a fully warm
// exactql, round after round, and reports both and their ratio.
func (e *env) throughput(rep *report) error {
	rounds, dur := 3, 10*time.Second
	if e.quick {
		rounds, dur = 2, 3*time.Second
	}
	const conc = 32
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("throughput: %w", err)
	}
	bare, err := startProc(e.ctx, self, []string{"-serve-bare", "127.0.0.1:0"}, baseEnv(), filepath.Join(e.dir, "bare.log"))
	if err != nil {
		return fmt.Errorf("throughput: bare server: %w", err)
	}
	defer bare.stop()
	// exactql with the response cache off (the read path's own speed) and
	// on (issue 15 item 3), each its own process on the same data.
	offOpts := e.defaultSandbox(0)
	offOpts.Env = map[string]string{"EXACTQL_RESPONSE_CACHE": "off"}
	g, err := e.gateway("throughput", offOpts)
	if err != nil {
		return err
	}
	defer g.Close()
	gOn, err := e.gateway("throughput-cached", e.defaultSandbox(0))
	if err != nil {
		return err
	}
	defer gOn.Close()
	b, err := demoBuyer(g.SB, gen.RulePriceList)
	if err != nil {
		return err
	}
	bOn, err := demoBuyer(gOn.SB, gen.RulePriceList)
	if err != nil {
		return err
	}
	check := func(nodes func(body []byte) (int, error)) func([]byte) error {
		return func(body []byte) error {
			n, err := nodes(body)
			if err != nil {
				return err
			}
			if n != 60 {
				return fmt.Errorf("%d products, want 60", n)
			}
			return nil
		}
	}
	bareCheck := check(func(body []byte) (int, error) {
		var r struct {
			Data struct {
				ProductPage struct{ Nodes []json.RawMessage }
			}
		}
		err := json.Unmarshal(body, &r)
		return len(r.Data.ProductPage.Nodes), err
	})
	exactCheck := check(func(body []byte) (int, error) {
		var r struct {
			Data struct {
				Products struct {
					Nodes []struct{ Price *json.RawMessage }
				}
			}
			Errors []json.RawMessage
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return 0, err
		}
		if len(r.Errors) > 0 {
			return 0, fmt.Errorf("errors: %s", r.Errors[0])
		}
		for _, n := range r.Data.Products.Nodes {
			if n.Price == nil {
				return 0, fmt.Errorf("a product without price")
			}
		}
		return len(r.Data.Products.Nodes), nil
	})
	bareBody, _ := json.Marshal(map[string]string{"query": bare15Query})
	exactBody, _ := json.Marshal(map[string]string{"query": issue15Query})
	// Warm exactql fully (and check both answer correctly) before measuring.
	e.log("throughput: warming up")
	client := newHTTPClient(conc)
	defer client.CloseIdleConnections()
	for _, w := range []loadSpec{
		{URL: bare.URL + "/graphql", Body: bareBody, Check: bareCheck},
		{URL: g.URL + "/graphql", Body: exactBody, Token: b.Token, Check: exactCheck},
		{URL: gOn.URL + "/graphql", Body: exactBody, Token: bOn.Token, Check: exactCheck},
	} {
		w.Concurrency, w.Duration, w.MaxRequests = 4, 2*time.Second, 2000
		r, err := runLoad(e.ctx, client, w)
		if err != nil {
			return err
		}
		if r.Errors > 0 {
			return fmt.Errorf("throughput: warm-up of %s: %d errors, first: %v", w.URL, r.Errors, r.FirstErr)
		}
	}
	g.SB.ResetCalls()
	gOn.SB.ResetCalls()
	restBare, restOff, restOn := bare.rssKB(), g.rssKB(), gOn.rssKB()

	// Each round loads, one after the other: the bare server, exactql with
	// the response cache off and on at conc connections, then the bare
	// server and exactql (cache off) on one connection.
	sides := []string{"bare", "exactql", "cached", "bare-1", "exactql-1"}
	runs := map[string][]throughputRun{}
	var mallocsOff, mallocsOn float64
	var reqsOff, reqsOn int64
	var badAnswers int64
	for round := range rounds {
		for _, side := range sides {
			e.log("throughput: round %d/%d, %s", round+1, rounds, side)
			spec := loadSpec{Concurrency: conc, Duration: dur, MaxRequests: 10_000_000}
			p, gw := bare, (*gateway)(nil)
			switch side {
			case "bare", "bare-1":
				spec.URL, spec.Body, spec.Check = bare.URL+"/graphql", bareBody, bareCheck
			case "exactql", "exactql-1":
				spec.URL, spec.Body, spec.Token, spec.Check = g.URL+"/graphql", exactBody, b.Token, exactCheck
				p, gw = g.proc, g
			default:
				spec.URL, spec.Body, spec.Token, spec.Check = gOn.URL+"/graphql", exactBody, bOn.Token, exactCheck
				p, gw = gOn.proc, gOn
			}
			if side == "bare-1" || side == "exactql-1" {
				spec.Concurrency, spec.Duration = 1, dur/2
			}
			var m0 map[string]float64
			if gw != nil {
				m0 = gw.metrics(e.ctx, "go_memstats_mallocs_total")
			}
			t0 := p.cpuTicks()
			r, err := runLoad(e.ctx, client, spec)
			if err != nil {
				return err
			}
			run := throughputRun{res: r, cpuTicks: p.cpuTicks() - t0}
			if gw != nil {
				// /metrics itself allocates a little: counted against the load.
				m1 := gw.metrics(e.ctx, "go_memstats_mallocs_total")
				d := m1["go_memstats_mallocs_total"] - m0["go_memstats_mallocs_total"]
				if gw == g {
					mallocsOff, reqsOff = mallocsOff+d, reqsOff+r.Requests
				} else {
					mallocsOn, reqsOn = mallocsOn+d, reqsOn+r.Requests
				}
			}
			badAnswers += r.Errors
			runs[side] = append(runs[side], run)
		}
	}
	calls, callsOn := g.apiCalls(), gOn.apiCalls()
	bareRuns, exactRuns, cachedRuns := runs["bare"], runs["exactql"], runs["cached"]

	s := rep.section(fmt.Sprintf("Cached throughput (response cache off): issue 15's priced page, 60 products × code, description, price, availableQuantity; %d connections, %d rounds × %s each, alternating", conc, rounds, dur),
		"round", "bare gqlgen req/s", "p50", "p99", "CPU/req", "exactql req/s", "p50", "p99", "CPU/req", "req/s ratio", "p50 ratio")
	var sumB, sumE float64
	var p50B, p50E, p99B, p99E time.Duration
	var cpuB, cpuE, reqB, reqE int64
	for i := range rounds {
		bb, ee := bareRuns[i], exactRuns[i]
		s.add(i+1, fmt.Sprintf("%.0f", bb.res.RPS()), bb.res.P50, bb.res.P99, cpuPerReq(bb),
			fmt.Sprintf("%.0f", ee.res.RPS()), ee.res.P50, ee.res.P99, cpuPerReq(ee),
			fmt.Sprintf("%.2f×", ee.res.RPS()/bb.res.RPS()), fmt.Sprintf("%.2f×", float64(ee.res.P50)/float64(max(bb.res.P50, 1))))
		sumB += bb.res.RPS()
		sumE += ee.res.RPS()
		p50B, p50E = p50B+bb.res.P50, p50E+ee.res.P50
		p99B, p99E = p99B+bb.res.P99, p99E+ee.res.P99
		cpuB, cpuE = cpuB+bb.cpuTicks, cpuE+ee.cpuTicks
		reqB, reqE = reqB+bb.res.Requests, reqE+ee.res.Requests
		if bb.res.Errors+ee.res.Errors > 0 {
			s.note("round %d: %d bare and %d exactql errors (first: %v / %v)", i+1, bb.res.Errors, ee.res.Errors, bb.res.FirstErr, ee.res.FirstErr)
		}
	}
	n := float64(rounds)
	ratio := sumE / sumB
	p50Ratio := float64(p50E) / float64(max(p50B, 1))
	s.add("mean", fmt.Sprintf("%.0f", sumB/n), p50B/time.Duration(rounds), p99B/time.Duration(rounds), cpuMs(cpuB, reqB),
		fmt.Sprintf("%.0f", sumE/n), p50E/time.Duration(rounds), p99E/time.Duration(rounds), cpuMs(cpuE, reqE),
		fmt.Sprintf("%.2f×", ratio), fmt.Sprintf("%.2f×", p50Ratio))
	s.note("goal (issue 15) exactql ≥ 0.8× bare req/s: %s (%.2f×); goal p50 ≤ 1.5× bare: %s (%.2f×)", met(ratio >= 0.8), ratio, met(p50Ratio <= 1.5), p50Ratio)
	s.note("CPU per request: bare %s, exactql %s; allocations per page (exactql, go_memstats_mallocs_total ÷ requests): %s",
		cpuMs(cpuB, reqB), cpuMs(cpuE, reqE), perReq(mallocsOff, reqsOff))
	s.note("goal 0 Exact calls during the measured rounds: %s (%d; fully warm)", met(calls == 0), calls)
	s.note("goal 0 bad answers (errors, a missing price, not 60 products) over every run of this scenario: %s (%d)", met(badAnswers == 0), badAnswers)
	s.note("RSS at rest (after warm-up) / peak (VmHWM at the end): bare %s / %s, exactql cache off %s / %s, cache on %s / %s",
		mb(restBare), mb(bare.peakRSSKB()), mb(restOff), mb(g.peakRSSKB()), mb(restOn), mb(gOn.peakRSSKB()))
	s.note("both servers are subprocesses on loopback, loaded by the bench's own closed-loop generator; CPU/req is the server process's user+system CPU divided by its requests")
	s.note("exactql runs with production settings (info-level JSON request log to a file) and EXACTQL_RESPONSE_CACHE=off; bare gqlgen has a query cache and APQ, no logging")

	o := rep.section(fmt.Sprintf("One connection, response cache off: the same page, same rounds (%s each, alternating with the runs above)", dur/2),
		"round", "bare gqlgen req/s", "p50", "p99", "exactql req/s", "p50", "p99", "p50 ratio")
	var p50B1, p50E1 time.Duration
	for i := range rounds {
		bb, ee := runs["bare-1"][i], runs["exactql-1"][i]
		o.add(i+1, fmt.Sprintf("%.0f", bb.res.RPS()), bb.res.P50, bb.res.P99, fmt.Sprintf("%.0f", ee.res.RPS()), ee.res.P50, ee.res.P99,
			fmt.Sprintf("%.2f×", float64(ee.res.P50)/float64(max(bb.res.P50, 1))))
		p50B1, p50E1 = p50B1+bb.res.P50, p50E1+ee.res.P50
	}
	p50Ratio1 := float64(p50E1) / float64(max(p50B1, 1))
	o.add("mean", "", p50B1/time.Duration(rounds), "", "", p50E1/time.Duration(rounds), "", fmt.Sprintf("%.2f×", p50Ratio1))
	o.note("goal (issue 15) one connection, cache off, p50 ≤ 1.5× bare: %s (%.2f×)", met(p50Ratio1 <= 1.5), p50Ratio1)

	c := rep.section("Response cache on: the same page, same rounds (alternating with the two above)",
		"round", "exactql cached req/s", "p50", "p99", "CPU/req", "× bare req/s", "× cache off req/s", "p50 ÷ bare")
	var sumC float64
	var p50C, p99C time.Duration
	var cpuC, reqC int64
	for i := range rounds {
		cc := cachedRuns[i]
		c.add(i+1, fmt.Sprintf("%.0f", cc.res.RPS()), cc.res.P50, cc.res.P99, cpuPerReq(cc),
			fmt.Sprintf("%.2f×", cc.res.RPS()/bareRuns[i].res.RPS()), fmt.Sprintf("%.2f×", cc.res.RPS()/exactRuns[i].res.RPS()),
			fmt.Sprintf("%.2f×", float64(cc.res.P50)/float64(max(bareRuns[i].res.P50, 1))))
		sumC += cc.res.RPS()
		p50C, p99C = p50C+cc.res.P50, p99C+cc.res.P99
		cpuC, reqC = cpuC+cc.cpuTicks, reqC+cc.res.Requests
		if cc.res.Errors > 0 {
			c.note("round %d: %d errors (first: %v)", i+1, cc.res.Errors, cc.res.FirstErr)
		}
	}
	cRatio := sumC / sumB
	c.add("mean", fmt.Sprintf("%.0f", sumC/n), p50C/time.Duration(rounds), p99C/time.Duration(rounds), cpuMs(cpuC, reqC),
		fmt.Sprintf("%.2f×", cRatio), fmt.Sprintf("%.2f×", sumC/sumE), fmt.Sprintf("%.2f×", float64(p50C)/float64(max(p50B, 1))))
	c.note("goal (issue 15) response cache on ≥ 3× bare req/s: %s (%.2f×)", met(cRatio >= 3), cRatio)
	c.note("CPU per request %s; allocations per request (go_memstats_mallocs_total ÷ requests) %s", cpuMs(cpuC, reqC), perReq(mallocsOn, reqsOn))
	c.note("goal 0 Exact calls during the measured rounds: %s (%d); the cache keeps an answer at most EXACTQL_RESPONSE_CACHE_TTL (30 s), so each round recomputes the page about once per 30 s from the warm read model", met(callsOn == 0), callsOn)
	return nil
}

// perReq formats a count per request; "—" without requests or figures.
func perReq(total float64, reqs int64) string {
	if reqs == 0 || total <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", total/float64(reqs))
}

// mb formats kB as MB; "—" when unknown.
func mb(kb int64) string {
	if kb <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MB", float64(kb)/1024)
}

func cpuPerReq(r throughputRun) string { return cpuMs(r.cpuTicks, r.res.Requests) }

// cpuMs formats CPU milliseconds per request from clock ticks (100 Hz).
func cpuMs(ticks, reqs int64) string {
	if reqs == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fms", float64(ticks)*10/float64(reqs))
}
