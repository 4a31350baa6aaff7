package erp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTimestampDecoding(t *testing.T) {
	cases := []struct {
		name, in string
		want     Timestamp
		err      bool
	}{
		{"string", `"1234567890123"`, 1234567890123, false},
		{"number", `42`, 42, false},
		{"null", `null`, 0, false},
		{"negative", `"-1"`, 0, true},
		{"text", `"abc"`, 0, true},
		{"float", `1.5`, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ts Timestamp
			err := json.Unmarshal([]byte(c.in), &ts)
			if (err != nil) != c.err || ts != c.want {
				t.Errorf("got %d, %v; want %d, err %v", ts, err, c.want, c.err)
			}
		})
	}
	b, _ := json.Marshal(Timestamp(7))
	if string(b) != `"7"` {
		t.Errorf("marshal = %s", b)
	}
}

func TestSyncSelectFlattensEmbedded(t *testing.T) {
	got := selectFields[SyncItem]()
	if got[0] != "ID" || got[len(got)-1] != "Timestamp" || len(got) != len(selectFields[Item]())+1 {
		t.Errorf("SyncItem $select = %v", got)
	}
	if diff := cmp.Diff([]string{"ItemId", "Warehouse", "CurrentStock", "PlanningIn", "PlanningOut", "ReservedStock", "Timestamp"}, selectFields[StockPosition]()); diff != "" {
		t.Errorf("StockPosition $select (-want +got):\n%s", diff)
	}
	for _, f := range selectFields[SyncSalesOrderHeader]() {
		if f == "SalesOrderLines" {
			t.Error("order header $select names the lines navigation")
		}
	}
}

// syncRowsJSON renders n rows with Timestamps from+1 … from+n, the
// Timestamp as a string when asString.
func syncRowsJSON(from, n int, asString bool) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		ts := strconv.Itoa(from + i)
		if asString {
			ts = `"` + ts + `"`
		}
		fmt.Fprintf(&b, `{"ItemId":"i%d","Warehouse":"w","CurrentStock":%d,"Timestamp":%s}`, from+i, i, ts)
	}
	return b.String()
}

func TestSyncSincePaging(t *testing.T) {
	cases := []struct {
		name string
		// pages maps the request's "since" (or "next") to the answer.
		serve     func(w http.ResponseWriter, r *http.Request, base string)
		wantCalls int
		wantRows  int
		wantWM    int64
		wantErr   error
	}{
		{
			name: "short first page",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				fmt.Fprintf(w, `{"d":{"results":[%s]}}`, syncRowsJSON(5, 3, true))
			},
			wantCalls: 1, wantRows: 3, wantWM: 8,
		},
		{
			name: "empty",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				fmt.Fprint(w, `{"d":{"results":[]}}`)
			},
			wantCalls: 1, wantRows: 0, wantWM: 5,
		},
		{
			name: "next links then short page",
			serve: func(w http.ResponseWriter, r *http.Request, base string) {
				if r.URL.Query().Get("$skiptoken") == "" {
					fmt.Fprintf(w, `{"d":{"results":[%s],"__next":%q}}`, syncRowsJSON(5, SyncPageSize, false), base+r.URL.Path+"?$skiptoken=1005L")
					return
				}
				fmt.Fprintf(w, `{"d":{"results":[%s]}}`, syncRowsJSON(1005, 10, true))
			},
			wantCalls: 2, wantRows: SyncPageSize + 10, wantWM: 1015,
		},
		{
			name: "full page without next asks again from the watermark",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				if strings.Contains(r.URL.Query().Get("$filter"), "gt 5L") {
					fmt.Fprintf(w, `{"d":{"results":[%s]}}`, syncRowsJSON(5, SyncPageSize, true))
					return
				}
				if !strings.Contains(r.URL.Query().Get("$filter"), "gt 1005L") {
					http.Error(w, "bad watermark", 400)
					return
				}
				fmt.Fprint(w, `{"d":{"results":[]}}`)
			},
			wantCalls: 2, wantRows: SyncPageSize, wantWM: 1005,
		},
		{
			name: "full page of old rows is refused",
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				row := `{"ItemId":"i","Warehouse":"w","Timestamp":"4"}`
				fmt.Fprintf(w, `{"d":{"results":[%s%s]}}`, strings.Repeat(row+",", SyncPageSize-1), row)
			},
			wantCalls: 1, wantRows: 0, wantWM: 5, wantErr: ErrSyncStalled,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, mux, base, done := setup(t)
			defer done()
			mux.HandleFunc("/api/v1/123/sync/Inventory/StockPositions", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testHeaders(t, r)
				if r.URL.Query().Get("$skiptoken") == "" {
					if f := r.URL.Query().Get("$filter"); !strings.HasPrefix(f, "Timestamp gt ") || !strings.HasSuffix(f, "L") {
						t.Errorf("$filter = %q", f)
					}
					if s := r.URL.Query().Get("$select"); s != "ItemId,Warehouse,CurrentStock,PlanningIn,PlanningOut,ReservedStock,Timestamp" {
						t.Errorf("$select = %q", s)
					}
				}
				c.serve(w, r, base)
			})
			rows, wm := 0, int64(5)
			calls, err := cl.Sync().StockPositions.Since(t.Context(), 5, func(page []StockPosition, w int64) error {
				rows += len(page)
				if w < wm {
					t.Errorf("watermark went back from %d to %d", wm, w)
				}
				wm = w
				return nil
			})
			if !errors.Is(err, c.wantErr) || calls != c.wantCalls || rows != c.wantRows || wm != c.wantWM {
				t.Errorf("calls %d rows %d wm %d err %v; want %d %d %d %v", calls, rows, wm, err, c.wantCalls, c.wantRows, c.wantWM, c.wantErr)
			}
		})
	}
}

func TestSyncErrors(t *testing.T) {
	cl, mux, _, done := setup(t)
	defer done()
	mux.HandleFunc("/api/v1/123/sync/Deleted", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"code":"","message":{"value":"Invalid request."}}}`)
	})
	mux.HandleFunc("/api/v1/123/sync/CRM/Accounts", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"d":{"results":[{"ID":"a","Timestamp":"9"}]}}`)
	})
	_, err := cl.Sync().Deleted.Since(t.Context(), 1, func([]DeletedRecord, int64) error { return nil })
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Endpoint != "sync/Deleted" {
		t.Errorf("400: %v", err)
	}
	stop := errors.New("stop")
	if _, err := cl.Sync().Accounts.Since(t.Context(), 1, func([]SyncAccount, int64) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn error: %v", err)
	}
	if _, _, err := cl.Sync().Accounts.Page(t.Context(), -1, ""); err == nil {
		t.Error("negative watermark accepted")
	}
	if _, _, err := cl.Sync().Accounts.Page(t.Context(), 0, "https://elsewhere.example/x"); !errors.Is(err, ErrForeignURL) {
		t.Errorf("foreign next: %v", err)
	}
}

// TestSyncRowsRoundTrip: the mirror stores rows as JSON and reads them back
// after a restart; nothing may change on the way.
func TestSyncRowsRoundTrip(t *testing.T) {
	in := `{"ID":"a","Code":"C1","Description":"D","IsWebshopItem":1,"IsSalesItem":true,
		"StartDate":"/Date(1700000000000)/","EndDate":null,"StandardSalesPrice":12.345,"Timestamp":"99"}`
	var a SyncItem
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back SyncItem
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("stored form %s: %v", b, err)
	}
	if diff := cmp.Diff(a, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if back.Timestamp != 99 || !bool(back.IsWebshopItem) || back.EndDate.Valid() || !back.StartDate.Valid() {
		t.Errorf("decoded %+v", back)
	}
}
