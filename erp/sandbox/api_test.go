package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// follow walks a collection through __next and returns every row and the
// page sizes.
func (e *env) follow(t *testing.T, first, token string) (rows []map[string]any, sizes []int) {
	t.Helper()
	u := first
	for i := 0; u != ""; i++ {
		if i > 1000 {
			t.Fatal("too many pages")
		}
		p := e.get(t, u, token).page(t)
		rows = append(rows, p.D.Results...)
		sizes = append(sizes, len(p.D.Results))
		if p.D.Next != "" && !strings.HasPrefix(p.D.Next, e.srv.URL+"/api/v1/") {
			t.Fatalf("__next %q is not a full URL", p.D.Next)
		}
		u = p.D.Next
	}
	return rows, sizes
}

func ids(rows []map[string]any, key string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _ = r[key].(string)
	}
	return out
}

func TestMe(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	r := e.get(t, "/api/v1/current/Me"+q("$select", "CurrentDivision,UserName"), at)
	p := r.page(t)
	if len(p.D.Results) != 1 {
		t.Fatalf("results: %v", p.D.Results)
	}
	got := p.D.Results[0]
	delete(got, "__metadata")
	want := map[string]any{"CurrentDivision": float64(e.sb.Division()), "UserName": "sandbox.user@example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Me (-want +got):\n%s", diff)
	}
	full := e.get(t, "/api/v1/current/Me", at).page(t).D.Results[0]
	if full["Legislation"] != "1" || full["FullName"] == nil || full["Email"] == nil || full["UserID"] == nil {
		t.Errorf("Me without $select: %v", full)
	}
}

func TestPagingPlain(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	items := e.sb.sets[gen.PathItems]
	var want []string
	for _, it := range items {
		want = append(want, it["ID"].(string))
	}
	sort.Strings(want)

	rows, sizes := e.follow(t, e.api("logistics/Items")+q("$select", "ID,Code"), at)
	if diff := cmp.Diff(want, ids(rows, "ID")); diff != "" {
		t.Errorf("IDs over all pages (-want +got):\n%s", diff)
	}
	wantSizes := []int{60, 60, len(items) - 120}
	if diff := cmp.Diff(wantSizes, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if got := len(rows[0]); got != 3 { // __metadata, ID, Code
		t.Errorf("row has %d properties, want 3: %v", got, rows[0])
	}
	md, _ := rows[0]["__metadata"].(map[string]any)
	if uri, _ := md["uri"].(string); uri != e.srv.URL+e.api("logistics/Items")+"(guid'"+want[0]+"')" {
		t.Errorf("__metadata.uri = %q", uri)
	}
}

func TestPagingOrderByAndFilterKept(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PageSize = 7 })
	at, _ := e.token(t)
	var want []string
	for _, it := range e.sb.sets[gen.PathItems] {
		if it["IsSalesItem"] == true {
			want = append(want, it["Code"].(string))
		}
	}
	sort.Slice(want, func(i, j int) bool { return strings.ToLower(want[i]) > strings.ToLower(want[j]) })
	rows, sizes := e.follow(t, e.api("logistics/Items")+q("$select", "Code", "$filter", "IsSalesItem eq true", "$orderby", "Code desc"), at)
	if diff := cmp.Diff(want, ids(rows, "Code")); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if len(sizes) < 3 || sizes[0] != 7 {
		t.Errorf("sizes %v", sizes)
	}
	// The second page's URL keeps the query.
	p := e.get(t, e.api("logistics/Items")+q("$select", "Code", "$filter", "IsSalesItem eq true", "$orderby", "Code desc"), at).page(t)
	u, err := url.Parse(p.D.Next)
	if err != nil {
		t.Fatal(err)
	}
	qv := u.Query()
	if qv.Get("$filter") != "IsSalesItem eq true" || qv.Get("$select") != "Code" || qv.Get("$orderby") != "Code desc" || qv.Get("$skiptoken") == "" {
		t.Errorf("__next query %v", qv)
	}
}

func TestPagingSync(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Data.Items = 1300 })
	at, _ := e.token(t)
	items := e.sb.sets[gen.PathItems]
	rows, sizes := e.follow(t, e.api("sync/Logistics/Items")+q("$select", "ID,Timestamp", "$filter", "Timestamp gt 1L"), at)
	if diff := cmp.Diff([]int{1000, len(items) - 1000}, sizes); diff != "" {
		t.Errorf("sync page sizes (-want +got):\n%s", diff)
	}
	var last int64
	seen := map[string]bool{}
	for _, r := range rows {
		ts, err := strconv.ParseInt(r["Timestamp"].(string), 10, 64) // Edm.Int64 as a string
		if err != nil || ts <= last {
			t.Fatalf("timestamps not increasing: %v after %d", r["Timestamp"], last)
		}
		last = ts
		seen[r["ID"].(string)] = true
	}
	if len(seen) != len(items) {
		t.Errorf("%d distinct items, want %d", len(seen), len(items))
	}
	// Only newer rows after the highest timestamp seen.
	p := e.get(t, e.api("sync/Logistics/Items")+q("$select", "ID", "$filter", "Timestamp gt "+strconv.FormatInt(last, 10)+"L"), at).page(t)
	if len(p.D.Results) != 0 || p.D.Next != "" {
		t.Errorf("after the last timestamp: %v", p.D)
	}
}

func TestSyncNeedsTimestampFilter(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	for _, f := range []string{"", "ID eq guid'00000000-0000-0000-0000-000000000000'", "Timestamp lt 5L"} {
		r := e.get(t, e.api("sync/Logistics/Items")+q("$select", "ID", "$filter", f), at)
		if r.status != 400 || r.errMsg(t) != msgSyncFilter {
			t.Errorf("filter %q: %d %s", f, r.status, r.body)
		}
	}
}

func TestTopInlineCountSkip(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	total := len(e.sb.sets[gen.PathItems])
	tests := []struct {
		name      string
		query     string
		wantRows  int
		wantCount string
		wantNext  bool
	}{
		{"top 5", q("$select", "ID", "$top", "5"), 5, "", false},
		{"top 0 count", q("$select", "ID", "$top", "0", "$inlinecount", "allpages"), 0, strconv.Itoa(total), false},
		{"count", q("$select", "ID", "$inlinecount", "allpages"), 60, strconv.Itoa(total), true},
		{"top 100", q("$select", "ID", "$top", "100"), 60, "", true},
		{"skip", q("$select", "ID", "$skip", strconv.Itoa(total-3)), 3, "", false},
		{"top 1 without select", q("$top", "1"), 1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.get(t, e.api("logistics/Items")+tt.query, at).page(t)
			if len(p.D.Results) != tt.wantRows || p.D.Count != tt.wantCount || (p.D.Next != "") != tt.wantNext {
				t.Errorf("rows %d count %q next %q; want %d %q %v", len(p.D.Results), p.D.Count, p.D.Next, tt.wantRows, tt.wantCount, tt.wantNext)
			}
		})
	}
	// $top=100 continues with $top=40 on the next page, 100 rows in all.
	rows, _ := e.follow(t, e.api("logistics/Items")+q("$select", "ID", "$top", "100"), at)
	if len(rows) != 100 {
		t.Errorf("$top=100 over pages: %d rows", len(rows))
	}
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	item := e.sb.sets[gen.PathItems][0]["ID"].(string)
	tests := []struct {
		name       string
		path       string
		hdr        map[string]string
		wantStatus int
		wantMsg    string // substring
	}{
		{"no select", e.api("logistics/Items"), nil, 400, msgSelectRequired},
		{"top 2 no select", e.api("logistics/Items") + q("$top", "2"), nil, 400, msgSelectRequired},
		{"unknown select", e.api("logistics/Items") + q("$select", "NoSuchField"), nil, 400, "NoSuchField"},
		{"bad filter", e.api("logistics/Items") + q("$select", "ID", "$filter", "Code eq"), nil, 400, "position"},
		{"unterminated quote", e.api("logistics/Items") + q("$select", "ID", "$filter", "Code eq 'abc"), nil, 400, ""},
		{"field vs field", e.api("logistics/Items") + q("$select", "ID", "$filter", "Code eq Description"), nil, 400, ""},
		{"contains", e.api("logistics/Items") + q("$select", "ID", "$filter", "contains(Code,'a')"), nil, 400, ""},
		{"bad orderby", e.api("logistics/Items") + q("$select", "ID", "$orderby", "Code sideways"), nil, 400, ""},
		{"bad top", e.api("logistics/Items") + q("$select", "ID", "$top", "-1"), nil, 400, "$top"},
		{"bad skiptoken", e.api("logistics/Items") + q("$select", "ID", "$orderby", "Code", "$skiptoken", "guid'zzz'"), nil, 400, "skiptoken"},
		{"expand elsewhere", e.api("logistics/Items") + q("$select", "ID", "$expand", "Lines"), nil, 400, "$expand"},
		{"no accept", e.api("logistics/Items") + q("$select", "ID"), map[string]string{"Accept": ""}, 400, msgNotAcceptable},
		{"xml accept", e.api("logistics/Items") + q("$select", "ID"), map[string]string{"Accept": "application/xml"}, 400, msgNotAcceptable},
		{"unknown set", e.api("logistics/Nothing") + q("$select", "ID"), nil, 404, ""},
		{"wrong case", e.api("Logistics/Items") + q("$select", "ID"), nil, 404, ""},
		{"wrong division", "/api/v1/42/logistics/Items" + q("$select", "ID"), nil, 403, "division"},
		{"no division", "/api/v1/logistics/Items", nil, 404, ""},
		{"unknown key", e.api("logistics/Items(guid'00000000-0000-0000-0000-000000000000')"), nil, 404, ""},
		{"post items", e.api("logistics/Items"), map[string]string{"X-Method": "POST"}, 405, ""},
		{"key ok", e.api("logistics/Items(guid'" + item + "')"), nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.hdr["X-Method"] != "" {
				method = tt.hdr["X-Method"]
			}
			r := e.do(t, method, tt.path, at, map[bool]string{true: "{}", false: ""}[method == http.MethodPost], tt.hdr)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if r.status == 200 {
				return
			}
			if msg := r.errMsg(t); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
			if tt.name == "wrong division" && r.header.Get("Reason") != "NoDivisionAccess" {
				t.Errorf("Reason %q", r.header.Get("Reason"))
			}
		})
	}
}

func TestEntityByKey(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	it := e.sb.sets[gen.PathItems][3]
	id := it["ID"].(string)
	r := e.get(t, e.api("logistics/Items(guid'"+id+"')"), at)
	m := r.json(t)
	d, _ := m["d"].(map[string]any)
	if d["ID"] != id || d["Code"] != it["Code"] {
		t.Fatalf("entity %v", d)
	}
	if _, ok := d["Description"]; !ok {
		t.Error("entity without $select lacks Description")
	}
	if pu, ok := d["PictureUrl"].(string); ok && !strings.HasPrefix(pu, e.srv.URL+"/docs/SysImage.aspx") {
		t.Errorf("PictureUrl %q is not absolute", pu)
	}
	sel := e.get(t, e.api("logistics/Items(guid'"+strings.ToUpper(id)+"')")+q("$select", "Code"), at).json(t)["d"].(map[string]any)
	delete(sel, "__metadata")
	if diff := cmp.Diff(map[string]any{"Code": it["Code"]}, sel); diff != "" {
		t.Errorf("selected entity (-want +got):\n%s", diff)
	}
}

func TestHostileFilters(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	filters := []string{
		"Description eq 'O''Brien'",
		"substringof('''; DROP TABLE Items; --',Description) eq true",
		"Code eq '\u00e9\u4e2d\U0001F600'",
		"Code eq '" + strings.Repeat("a", 5000) + "'",
		strings.Repeat("(", 500) + "Code eq 'a'" + strings.Repeat(")", 500),
		"Code eq 'a' " + strings.Repeat("or Code eq 'a' ", 300),
		"Code eq '\x00'",
		"Code eq '\xff'",
		"ID eq guid'not-a-guid'",
		"Modified gt datetime'2026-13-45T99:99:99'",
		"Timestamp gt 99999999999999999999999L",
		"StandardSalesPrice gt 1e999",
		"not not not IsSalesItem",
		"'a' eq 'a'",
		"Code eq null",
		")",
		"Code eq 'x' and",
		"substringof(Code)",
		"length(Code) gt -1",
	}
	for _, f := range filters {
		r := e.get(t, e.api("logistics/Items")+q("$select", "ID", "$filter", f), at)
		switch r.status {
		case 200:
			r.page(t)
		case 400:
			if msg := r.errMsg(t); msg == "" {
				t.Errorf("filter %.40q: empty error message", f)
			}
		default:
			t.Errorf("filter %.40q: status %d: %.200s", f, r.status, r.body)
		}
	}
	// A quoted name with a doubled quote matches exactly.
	name := "O'Brien & Sons"
	e.sb.mu.Lock()
	e.sb.sets[gen.PathItems][0]["Description"] = name
	e.sb.mu.Unlock()
	p := e.get(t, e.api("logistics/Items")+q("$select", "ID", "$filter", "Description eq 'O''Brien & Sons'"), at).page(t)
	if got := ids(p.D.Results, "ID"); !slices.Equal(got, []string{e.sb.sets[gen.PathItems][0]["ID"].(string)}) {
		t.Errorf("quoted filter matched %v", got)
	}
}
