package erp

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// exactURLLen is the length r's URL would have on Exact's host.
func exactURLLen(r *http.Request) int {
	return len(DefaultBaseURL) + len(r.URL.EscapedPath()) + 1 + len(r.URL.RawQuery)
}

// TestChunkByURLLength looks up 25 codes of 30 multibyte characters (the
// issue 17 report: one call of 7,216 characters). Every call stays at or
// under 2,000 characters on Exact's host, no code is lost or asked twice,
// and short codes still go 25 to a call.
func TestChunkByURLLength(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var mu sync.Mutex
	var lens []int
	asked := map[string]int{}
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		f := r.URL.Query().Get("$filter")
		mu.Lock()
		lens = append(lens, exactURLLen(r))
		for _, part := range strings.Split(f, " or ") {
			_, v, _ := strings.Cut(part, "Code eq ")
			asked[strings.Trim(v, "()'")]++
		}
		mu.Unlock()
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	var codes []string
	for i := range 25 {
		codes = append(codes, fmt.Sprintf("%02d", i)+strings.Repeat("€", 28)) // 30 characters, 3 bytes each
	}
	if _, err := c.Items.GetByCodes(t.Context(), codes); err != nil {
		t.Fatal(err)
	}
	if len(lens) < 4 {
		t.Errorf("%d calls for 25 long codes, want them split by URL length", len(lens))
	}
	for _, n := range lens {
		if n > DefaultMaxURLLength {
			t.Errorf("URL of %d characters, want at most %d", n, DefaultMaxURLLength)
		}
	}
	for _, code := range codes {
		if asked[code] != 1 {
			t.Errorf("code %q asked %d times, want once", code, asked[code])
		}
	}

	lens = nil
	var short []string
	for i := range 50 {
		short = append(short, fmt.Sprintf("A%03d", i))
	}
	if _, err := c.Items.GetByCodes(t.Context(), short); err != nil {
		t.Fatal(err)
	}
	if len(lens) != 2 {
		t.Errorf("50 short codes took %d calls, want 2 of 25", len(lens))
	}
}

// TestChunkSkipsKeyTooLongAlone: a code whose lookup alone would pass the
// limit cannot be an Exact code; it is left out without a call, and the
// other codes are still looked up.
func TestChunkSkipsKeyTooLongAlone(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var calls []string
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.URL.Query().Get("$filter"))
		fmt.Fprint(w, `{"d":{"results":[{"ID":"x","Code":"OK1"}]}}`)
	})
	got, err := c.Items.GetByCodes(t.Context(), []string{strings.Repeat("ü", 700), "OK1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0] != "Code eq 'OK1'" || len(got) != 1 {
		t.Errorf("calls %q, rows %d; want one call for OK1 only", calls, len(got))
	}
}

// TestChunkVolumeDiscountsCountPeriods: the period clauses count toward
// the URL of every chunk.
func TestChunkVolumeDiscountsCountPeriods(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var lens []int
	keys := 0
	mux.HandleFunc(apiPrefix+"sales/SalesPriceListVolumeDiscounts", func(w http.ResponseWriter, r *http.Request) {
		lens = append(lens, exactURLLen(r))
		keys += strings.Count(r.URL.Query().Get("$filter"), "Item eq") + strings.Count(r.URL.Query().Get("$filter"), "ItemGroup eq")
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	if _, err := c.VolumeDiscounts.ForPeriodsItemsGroups(t.Context(), ids(4), ids(40), ids(8)); err != nil {
		t.Fatal(err)
	}
	for _, n := range lens {
		if n > DefaultMaxURLLength {
			t.Errorf("URL of %d characters", n)
		}
	}
	if keys != 48 {
		t.Errorf("%d keys asked, want 48", keys)
	}
}

// TestLongQueryRefusedSplitsOnce: when Exact refuses a chunk with 400 (a
// front end with a shorter limit than ours), the chunk is split, the lower
// limit holds for the rest of the process, and the answer is complete. The
// refused URL is not sent again as it was.
func TestLongQueryRefusedSplitsOnce(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	const frontEnd = 1500
	var refused, served int
	seen := map[string]bool{}
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		if seen[r.URL.RawQuery] {
			t.Errorf("a refused URL was sent again")
		}
		if exactURLLen(r) > frontEnd {
			seen[r.URL.RawQuery] = true
			refused++
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":{"value":"The request URL is too long."}}}`)
			return
		}
		served += strings.Count(r.URL.Query().Get("$filter"), " eq guid'")
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	if _, err := c.Items.GetByIDs(t.Context(), ids(25)); err != nil {
		t.Fatal(err)
	}
	if refused != 1 || served != 25 {
		t.Errorf("refused %d, served %d keys; want 1 and 25", refused, served)
	}
	if c.MaxURLLength() >= DefaultMaxURLLength {
		t.Errorf("limit still %d after a refusal", c.MaxURLLength())
	}
	if _, err := c.Items.GetByIDs(t.Context(), ids(25)); err != nil || refused != 1 {
		t.Errorf("second lookup: err %v, refusals %d; want the lower limit kept", err, refused)
	}
}

func TestWithMaxURLLength(t *testing.T) {
	if _, err := New(WithMaxURLLength(100)); err == nil {
		t.Error("a limit of 100 was accepted")
	}
	c, err := New(WithMaxURLLength(900))
	if err != nil || c.MaxURLLength() != 900 {
		t.Errorf("limit %d, err %v", c.MaxURLLength(), err)
	}
}
