package sandbox

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPessimisticSwitchesOffByDefault checks that a new sandbox answers
// every shape the switches refuse.
func TestPessimisticSwitchesOffByDefault(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	if got := e.sb.Faults().State(); got != (FaultState{}) {
		t.Fatalf("initial state %+v, want all off", got)
	}
	for _, flt := range []string{"substringof('a',Code) eq true", "Account eq null"} {
		set := "logistics/Items"
		if strings.HasPrefix(flt, "Account") {
			set = "logistics/SalesItemPrices"
		}
		r := e.get(t, e.api(set)+q("$select", "ID", "$filter", flt), at)
		if r.status != 200 {
			t.Errorf("%s: status %d: %s", flt, r.status, r.body)
		}
	}
}

func TestPessimisticQueryShapes(t *testing.T) {
	longOr := "Code eq '" + strings.Repeat("x", 2100) + "'"
	tests := []struct {
		name       string
		set        func(*Faults)
		path, flt  string
		wantStatus int
		wantMsg    string
	}{
		{"substringof 501", func(f *Faults) { f.SetSubstringOf501(true) }, "logistics/Items", "substringof('a',Code) eq true", 501, "substringof"},
		{"substringof nested", func(f *Faults) { f.SetSubstringOf501(true) }, "logistics/Items", "IsSalesItem eq true and (SubstringOf('a',Description) eq true)", 501, "substringof"},
		{"substringof in a literal passes", func(f *Faults) { f.SetSubstringOf501(true) }, "logistics/Items", "Code eq 'x substringof y'", 200, ""},
		{"account eq null 400", func(f *Faults) { f.SetRefuseAccountEqNull(true) }, "logistics/SalesItemPrices", "Account eq null", 400, "null"},
		{"account eq null in and", func(f *Faults) { f.SetRefuseAccountEqNull(true) }, "logistics/SalesItemPrices", "(Item eq guid'00000000-0000-0000-0000-000000000000') and Account eq null", 400, "null"},
		{"other eq null passes", func(f *Faults) { f.SetRefuseAccountEqNull(true) }, "logistics/SalesItemPrices", "EndDate eq null", 200, ""},
		{"account guid passes", func(f *Faults) { f.SetRefuseAccountEqNull(true) }, "logistics/SalesItemPrices", "Account eq guid'00000000-0000-0000-0000-000000000000'", 200, ""},
		{"long URL 400", func(f *Faults) { f.SetMaxURLLength(2048) }, "logistics/Items", longOr, 400, "too long"},
		{"short URL passes", func(f *Faults) { f.SetMaxURLLength(2048) }, "logistics/Items", "Code eq 'x'", 200, ""},
		{"all on, long URL", func(f *Faults) { f.SetPessimistic(true) }, "logistics/Items", longOr, 400, "too long"},
		{"all on, then off", func(f *Faults) { f.SetPessimistic(true); f.SetPessimistic(false) }, "logistics/Items", "substringof('a',Code) eq true", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
			at, _ := e.token(t)
			tt.set(e.sb.Faults())
			r := e.get(t, e.api(tt.path)+q("$select", "ID", "$filter", tt.flt), at)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantMsg != "" && !strings.Contains(strings.ToLower(r.errMsg(t)), tt.wantMsg) {
				t.Errorf("message %q does not mention %q", r.errMsg(t), tt.wantMsg)
			}
		})
	}
}

// TestPessimisticURLLengthBoundary checks the limit counts the full URL.
func TestPessimisticURLLengthBoundary(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	base := e.srv.URL + e.api("logistics/Items") + "?$select=ID&$filter=Code%20eq%20%27"
	pad := func(total int) string { return base + strings.Repeat("x", total-len(base)-3) + "%27" }
	e.sb.Faults().SetMaxURLLength(300)
	if r := e.get(t, pad(300), at); r.status != 200 {
		t.Errorf("URL of exactly the limit: status %d: %s", r.status, r.body)
	}
	if r := e.get(t, pad(301), at); r.status != 400 {
		t.Errorf("URL one past the limit: status %d, want 400", r.status)
	}
}

func TestPessimisticControlAPI(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(t, http.MethodPost, "/sandbox/faults", "", `{"pessimistic":true}`, nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := FaultState{SubstringOf501: true, RefuseAccountEqNull: true, MaxURLLength: DefaultMaxURLLength, RepriceLines: true, RemarksLimit: DefaultRemarksLimit}
	if diff := cmp.Diff(want, e.sb.Faults().State()); diff != "" {
		t.Errorf("after pessimistic (-want +got):\n%s", diff)
	}
	r = e.do(t, http.MethodPost, "/sandbox/faults", "", `{"pessimistic":false,"refuse_account_eq_null":true,"max_url_length":900,"remarks_limit":40}`, nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want = FaultState{RefuseAccountEqNull: true, MaxURLLength: 900, RemarksLimit: 40}
	if diff := cmp.Diff(want, e.sb.Faults().State()); diff != "" {
		t.Errorf("after single switches (-want +got):\n%s", diff)
	}
	r = e.do(t, http.MethodPost, "/sandbox/faults", "", `{"substringof_501":true,"reprice_lines":true}`, nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if st := e.sb.Faults().State(); !st.SubstringOf501 || !st.RepriceLines || !st.RefuseAccountEqNull {
		t.Errorf("switches not kept: %+v", st)
	}
	r = e.do(t, http.MethodPost, "/sandbox/faults", "", `{"reset":true}`, nil)
	if r.status != 200 || e.sb.Faults().State() != (FaultState{}) {
		t.Errorf("reset: status %d, state %+v", r.status, e.sb.Faults().State())
	}
	if r := e.do(t, http.MethodPost, "/sandbox/faults", "", `{"max_url_length":"long"}`, nil); r.status != 400 {
		t.Errorf("bad value: status %d, want 400", r.status)
	}
}

// TestPessimisticOrderSwitches posts one line without Discount and one with
// it: only the first is re-priced; Remarks are cut.
func TestPessimisticOrderSwitches(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	f := e.fixture(t)
	e.sb.Faults().SetRepriceLines(true)
	e.sb.Faults().SetRemarksLimit(20)
	body := f.body(func(m map[string]any) {
		m["Remarks"] = "exactql-ref: g-42\ncall the warehouse first"
		line(m, 0)["UnitPrice"] = 10
		line(m, 1)["UnitPrice"] = 10
		line(m, 1)["Discount"] = 0
	})
	r := e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, body, map[string]string{"Prefer": "return=representation"})
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	d := r.json(t)["d"].(map[string]any)
	if got := d["Remarks"]; got != "exactql-ref: g-42\nca" {
		t.Errorf("Remarks %q, want the first 20 characters", got)
	}
	lines := d["SalesOrderLines"].(map[string]any)["results"].([]any)
	l0, l1 := lines[0].(map[string]any), lines[1].(map[string]any)
	// The default-price demo buyer has no DiscountSales: 5 % comes off.
	if l0["UnitPrice"] != 10.0 || l0["NetPrice"] != 9.5 || l0["Discount"] != 0.05 || l0["AmountFC"] != 28.5 {
		t.Errorf("line without Discount: %v %v %v %v, want re-priced 10 → 9.5", l0["UnitPrice"], l0["NetPrice"], l0["Discount"], l0["AmountFC"])
	}
	if l1["NetPrice"] != 10.0 || l1["Discount"] != 0.0 || l1["AmountFC"] != 25.0 {
		t.Errorf("line with Discount: %v %v %v, want 10 kept", l1["NetPrice"], l1["Discount"], l1["AmountFC"])
	}
	if d["AmountFCExclVat"] != 53.5 {
		t.Errorf("order AmountFCExclVat %v, want 53.5 (AmountFC includes VAT)", d["AmountFCExclVat"])
	}

	// Off again: nothing changes.
	e.sb.Faults().SetPessimistic(false)
	r = e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, body, map[string]string{"Prefer": "return=representation"})
	d = r.json(t)["d"].(map[string]any)
	l0 = d["SalesOrderLines"].(map[string]any)["results"].([]any)[0].(map[string]any)
	if l0["NetPrice"] != 10.0 || d["Remarks"] != "exactql-ref: g-42\ncall the warehouse first" {
		t.Errorf("switches off: NetPrice %v, Remarks %q", l0["NetPrice"], d["Remarks"])
	}
}
