package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// walkResult is one pass over the whole catalog.
type walkResult struct {
	Pages, Products int
	Calls           int
	Elapsed         time.Duration
	RSSKB           int64
	Errors          int
	FirstErr        error
	Complete        bool // reached the last page
}

// walkCatalog pages through all products, 60 at a time, as buyer tok,
// stopping after maxPages pages or when limit has passed.
func (e *env) walkCatalog(g *gateway, tok string, maxPages int, limit time.Duration) walkResult {
	var w walkResult
	g.SB.ResetCalls()
	start := time.Now()
	vars := map[string]any{"first": 60}
	for w.Pages < maxPages && time.Since(start) < limit {
		var p pageData
		if err := g.mustData(e.ctx, tok, pageQuery, vars, &p); err != nil {
			w.Errors++
			if w.FirstErr == nil {
				w.FirstErr = err
			}
			if w.Errors > 10 || e.ctx.Err() != nil {
				break
			}
			continue
		}
		w.Pages++
		w.Products += len(p.Products.Nodes)
		if !p.Products.PageInfo.HasNextPage || p.Products.PageInfo.EndCursor == nil {
			w.Complete = true
			break
		}
		vars["after"] = *p.Products.PageInfo.EndCursor
	}
	w.Elapsed = time.Since(start)
	w.Calls = g.apiCalls()
	w.RSSKB = g.rssKB()
	return w
}

// scale browses a large catalog twice and reports memory and cache metrics.
func (e *env) scale(rep *report) error {
	// The walk is bounded in time so that the whole bench stays under 10
	// minutes: the sandbox scans its sets on every call, which at 50,000
	// items costs it far more than the gateway.
	items, limit := 50_000, 230*time.Second
	if e.quick {
		items, limit = 5_000, 40*time.Second
	}
	// Keep the whole run under its time budget: the first pass gets what
	// is left of it, less time for the second (warm, much faster) pass.
	if !e.deadline.IsZero() {
		limit = min(limit, time.Until(e.deadline)*3/4)
	}
	opts := gatewayOptions{
		Sandbox: sandboxOptions(items, 0, today, 1_000_000, 100_000_000),
		// TTLs longer than the walk, so the second pass measures the cache,
		// not expiry.
		Env: map[string]string{"EXACTQL_CALLER_BUDGET": "1000000", "EXACTQL_BATCH_SIZE": "60", "EXACTQL_TTL_STOCK": "30m",
			"EXACTQL_TTL_PRICES": "30m", "EXACTQL_TTL_ITEMS": "30m", "EXACTQL_TTL_ACCOUNTS": "30m"},
	}
	e.log("scale: starting a sandbox with %d items", items)
	g, err := e.gateway("scale", opts)
	if err != nil {
		return err
	}
	defer g.Close()
	b, err := demoBuyer(g.SB, gen.RulePriceList)
	if err != nil {
		return err
	}
	idle := g.rssKB()
	e.log("scale: first pass")
	m0 := g.metrics(e.ctx, "exactql_cache_")
	cold := e.walkCatalog(g, b.Token, 1<<30, limit.Round(time.Second))
	m1 := g.metrics(e.ctx, "exactql_cache_")
	e.log("scale: second pass")
	warm := e.walkCatalog(g, b.Token, cold.Pages, limit.Round(time.Second))
	m2 := g.metrics(e.ctx, "exactql_cache_")

	s := rep.section(fmt.Sprintf("Scale: %d items, generous budget, whole catalog paged 60 at a time (price + stock) by a price-list buyer", items),
		"pass", "pages", "products", "whole catalog", "Exact calls", "time", "gateway RSS", "errors")
	s.add("idle, before", "", "", "", "", "", mib(idle), "")
	for _, r := range []struct {
		name string
		w    walkResult
	}{{"first (cold)", cold}, {"second (warm)", warm}} {
		errs := fmt.Sprint(r.w.Errors)
		if r.w.FirstErr != nil {
			errs += ": " + r.w.FirstErr.Error()
		}
		s.add(r.name, r.w.Pages, r.w.Products, r.w.Complete, r.w.Calls, r.w.Elapsed.Round(100*time.Millisecond), mib(r.w.RSSKB), errs)
	}
	if m2 == nil {
		s.note("cache metrics: the gateway has no /metrics endpoint in this build; the second pass's Exact calls (%d vs %d) stand in for the hit ratio", warm.Calls, cold.Calls)
	} else {
		hits, misses := m2["exactql_cache_hits_total"]-m1["exactql_cache_hits_total"], m2["exactql_cache_misses_total"]-m1["exactql_cache_misses_total"]
		s.note("cache hit ratio in the second pass: %.1f %% (%g hits, %g misses); keys evicted in all: %g", 100*hits/max(hits+misses, 1), hits, misses, m2["exactql_cache_keys_evicted_total"])
		s.note("cache metrics after pass 1 → after pass 2 (deltas are per pass): %s", metricDeltas(m0, m1, m2))
	}
	s.note("TTLs set to 30 m and EXACTQL_BATCH_SIZE=60 for this run, so that the second pass measures eviction, not expiry; each pass is cut off after %s (the second walks the pages the first reached)", limit.Round(time.Second))
	return nil
}

func mib(kb int64) string {
	if kb == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
}

// metricDeltas prints each metric's value after pass 1 and 2 and the deltas.
func metricDeltas(m0, m1, m2 map[string]float64) string {
	var names []string
	for k := range m2 {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []string
	for _, k := range names {
		out = append(out, fmt.Sprintf("%s: %g → %g (pass 1 +%g, pass 2 +%g)", k, m1[k], m2[k], m1[k]-m0[k], m2[k]-m1[k]))
	}
	return strings.Join(out, "; ")
}
