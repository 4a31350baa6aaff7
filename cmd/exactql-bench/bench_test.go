package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of 4", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p50 of 100", ms(seq(100)...), 0.5, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(secs ...int) []time.Time {
		out := make([]time.Time, len(secs))
		for i, s := range secs {
			out[i] = t0.Add(time.Duration(s) * time.Second)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"none", nil, 0},
		{"one", at(5), 1},
		{"all in a minute", at(0, 10, 59), 3},
		{"window is half open", at(0, 60), 1},
		{"densest later", at(0, 70, 80, 90, 129), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxInWindow(tc.times, time.Minute); got != tc.want {
				t.Errorf("maxInWindow = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRunLoadBoundedByCount(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		n := served.Add(1)
		if n%10 == 0 {
			fmt.Fprint(w, "bad")
			return
		}
		fmt.Fprint(w, "good")
	}))
	defer srv.Close()
	check := func(b []byte) error {
		if !bytes.Equal(b, []byte("good")) {
			return errors.New("bad answer")
		}
		return nil
	}
	r, err := runLoad(context.Background(), newHTTPClient(4), loadSpec{URL: srv.URL, Token: "tok", Body: []byte("{}"),
		Concurrency: 4, Duration: time.Minute, MaxRequests: 100, Check: check})
	if err != nil {
		t.Fatal(err)
	}
	if got := served.Load(); got != 100 {
		t.Errorf("server saw %d requests, want 100", got)
	}
	if r.Requests != 90 || r.Errors != 10 {
		t.Errorf("requests %d errors %d, want 90 and 10", r.Requests, r.Errors)
	}
	if r.FirstErr == nil || r.P50 <= 0 || r.P99 < r.P50 || r.RPS() <= 0 {
		t.Errorf("result %+v", r)
	}
}

func TestRunLoadCountsHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	r, err := runLoad(context.Background(), newHTTPClient(2), loadSpec{URL: srv.URL, Body: []byte("{}"),
		Concurrency: 2, Duration: time.Minute, MaxRequests: 6})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 0 || r.Errors != 6 || r.FirstErr == nil || !strings.Contains(r.FirstErr.Error(), "503") {
		t.Errorf("result %+v", r)
	}
}

func TestRunLoadRejectsBadSpec(t *testing.T) {
	for _, s := range []loadSpec{
		{URL: "http://127.0.0.1:1", Duration: time.Second, MaxRequests: 1},
		{URL: "http://127.0.0.1:1", Concurrency: 1, MaxRequests: 1},
		{URL: "http://127.0.0.1:1", Concurrency: 1, Duration: time.Second},
		{Concurrency: 1, Duration: time.Second, MaxRequests: 1},
	} {
		if _, err := runLoad(context.Background(), newHTTPClient(1), s); !errors.Is(err, errBadSpec) {
			t.Errorf("runLoad(%+v) = %v, want errBadSpec", s, err)
		}
	}
}

func TestReportMarkdown(t *testing.T) {
	rep := &report{Title: "t", Preamble: []string{"machine: x"}}
	s := rep.section("S", "a", "b")
	s.add(1, "x|y")
	s.add(2500*time.Microsecond, true)
	s.note("n %d", 1)
	var b bytes.Buffer
	rep.writeMarkdown(&b)
	want := "## t\n\nmachine: x  \n\n### S\n\n| a | b |\n|---|---|\n| 1 | x\\|y |\n| 2.50ms | yes |\n\n- n 1\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("markdown (-want +got):\n%s", diff)
	}
	var txt bytes.Buffer
	rep.writeText(&txt)
	if !strings.Contains(txt.String(), "-- S --") || !strings.Contains(txt.String(), "note: n 1") {
		t.Errorf("text:\n%s", txt.String())
	}
}

// TestLoadCatalogMatchesSandbox proves that regenerating a sandbox's data
// from its options lists the sandbox's own buyers with their price situation.
func TestLoadCatalogMatchesSandbox(t *testing.T) {
	opts := sandboxOptions(gen.MinItems, 60, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), 0, 0)
	sb := sandbox.New(opts)
	cat, err := loadCatalog(opts)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, b := range cat.Buyers {
		kinds[b.Account] = b.Kind
		if b.Token == "" || b.Contact == "" {
			t.Errorf("buyer %s without token or contact", b.Code)
		}
	}
	want := map[string]string{gen.RuleCustomerPrice: kindAgreements, gen.RulePriceList: kindPriceList,
		gen.RuleAccountDiscount: kindDiscount, gen.RuleDefaultPrice: kindDefault, gen.RuleOtherCurrency: kindForeign, gen.RuleBlocked: ""}
	got := map[string]string{}
	for _, d := range sb.DemoBuyers() {
		got[d.Rule] = kinds[d.AccountID]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demo buyers' kinds (-want +got):\n%s", diff)
	}
	mixed := cat.mixed(10)
	seen := map[string]bool{}
	for _, b := range mixed {
		seen[b.Kind] = true
	}
	if len(mixed) != 10 || len(seen) != 5 {
		t.Errorf("mixed(10) = %d buyers of %d kinds, want 10 of 5", len(mixed), len(seen))
	}
	if len(cat.Codes) == 0 || len(cat.Words) == 0 || len(cat.Groups) == 0 {
		t.Errorf("catalog: %d codes, %d words, %d groups", len(cat.Codes), len(cat.Words), len(cat.Groups))
	}
}
