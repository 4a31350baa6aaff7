package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

func TestPictures(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	var with, without string
	for _, it := range e.sb.sets[gen.PathItems] {
		if u, _ := it["PictureUrl"].(string); u != "" && with == "" {
			with = u
		} else if u == "" && without == "" {
			without = it["ID"].(string)
		}
	}
	if with == "" || without == "" {
		t.Fatalf("data lacks items with and without picture")
	}
	r := e.get(t, with, at)
	if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("picture: %d %v", r.status, r.header)
	}
	img, err := png.Decode(bytes.NewReader(r.body))
	if err != nil || img.Bounds().Dx() != pictureSize {
		t.Fatalf("png: %v %v", err, img)
	}
	if again := e.get(t, with, at); !bytes.Equal(again.body, r.body) {
		t.Error("picture is not deterministic")
	}
	if r := e.get(t, with, ""); r.status != 401 {
		t.Errorf("without token: %d", r.status)
	}
	if r := e.get(t, "/docs/SysImage.aspx?Table=Items&ID="+without, at); r.status != 404 {
		t.Errorf("item without picture: %d", r.status)
	}
	if r := e.get(t, "/docs/SysImage.aspx?Table=Accounts&ID="+without, at); r.status != 404 {
		t.Errorf("other table: %d", r.status)
	}
	if n := e.sb.CallCount(func(c Call) bool { return c.Kind == KindPicture }); n != 5 {
		t.Errorf("picture calls logged: %d, want 5", n)
	}
	if r := e.get(t, "/api/v1/current/Me", at); r.header.Get("X-RateLimit-Minutely-Remaining") != "59" {
		t.Errorf("pictures used API budget: remaining %s", r.header.Get("X-RateLimit-Minutely-Remaining"))
	}
}

func TestCallLog(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	e.get(t, e.api("logistics/Items")+q("$select", "ID", "$top", "1"), at)
	e.get(t, e.api("logistics/Items"), at)
	type view struct {
		Method, Path, Query, Endpoint, Kind string
		Status, Division                    int
	}
	var got []view
	for _, c := range e.sb.Calls() {
		if !c.Time.Equal(t0) {
			t.Errorf("call time %v", c.Time)
		}
		got = append(got, view{c.Method, c.Path, c.Query, c.Endpoint, c.Kind, c.Status, c.Division})
	}
	div := e.sb.Division()
	want := []view{
		{"POST", "/api/oauth2/token", "", "oauth2/token", KindToken, 200, 0},
		{"GET", e.api("logistics/Items"), "$select=ID&$top=1", "logistics/Items", KindAPI, 200, div},
		{"GET", e.api("logistics/Items"), "", "logistics/Items", KindAPI, 400, div},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	st := e.sb.Stats()
	if diff := cmp.Diff(map[string]map[int]int{"oauth2/token": {200: 1}, "logistics/Items": {200: 1, 400: 1}}, st.Calls); diff != "" {
		t.Errorf("Stats.Calls (-want +got):\n%s", diff)
	}
	if n := e.sb.CallCount(func(c Call) bool { return c.Status >= 400 }); n != 1 {
		t.Errorf("CallCount errors = %d", n)
	}
	e.sb.ResetCalls()
	if n := e.sb.CallCount(nil); n != 0 || e.sb.Stats().TokenCalls != 0 {
		t.Errorf("after reset: %d calls", n)
	}
}

func (e *env) control(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, nil)

	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	if st := e.control(t, "POST", "/sandbox/refresh-token", "", &tok); st != 200 || tok.RefreshToken == "" {
		t.Fatalf("refresh-token: %d %+v", st, tok)
	}
	r := e.postToken(t, e.refreshForm(tok.RefreshToken))
	if r.status != 200 {
		t.Fatalf("issued token does not refresh: %d", r.status)
	}
	at := r.body["access_token"]
	e.get(t, "/api/v1/current/Me", at)

	var calls struct {
		Calls  []Call         `json:"calls"`
		Count  int            `json:"count"`
		ByKind map[string]int `json:"by_kind"`
	}
	e.control(t, "GET", "/sandbox/calls", "", &calls)
	if calls.Count != 2 || len(calls.Calls) != 2 || calls.ByKind["api"] != 1 || calls.ByKind["token"] != 1 {
		t.Errorf("calls: %+v", calls)
	}
	var st Stats
	e.control(t, "GET", "/sandbox/stats", "", &st)
	if st.TokenRefreshes != 1 || st.Calls["current/Me"][200] != 1 {
		t.Errorf("stats: %+v", st)
	}
	if code := e.control(t, "POST", "/sandbox/calls/reset", "", nil); code != 204 || e.sb.CallCount(nil) != 0 {
		t.Errorf("reset: %d, %d calls", code, e.sb.CallCount(nil))
	}

	var fs FaultState
	body := `{"latency_ms":0,"fail_next":1,"fail_status":500,"maintenance":false,"force_429":1,"drop_after_post":true,"reject_next_order":"nope"}`
	if code := e.control(t, "POST", "/sandbox/faults", body, &fs); code != 200 {
		t.Fatalf("faults: %d", code)
	}
	want := FaultState{FailNext: 1, FailStatus: 500, Force429: 1, DropAfterPost: true, RejectNextOrder: "nope"}
	if diff := cmp.Diff(want, fs); diff != "" {
		t.Errorf("fault state (-want +got):\n%s", diff)
	}
	fs = FaultState{}
	e.control(t, "GET", "/sandbox/faults", "", &fs)
	if diff := cmp.Diff(want, fs); diff != "" {
		t.Errorf("GET faults (-want +got):\n%s", diff)
	}
	if r := e.get(t, "/api/v1/current/Me", at); r.status != 429 {
		t.Errorf("forced 429 via control API: %d", r.status)
	}
	if r := e.get(t, "/api/v1/current/Me", at); r.status != 500 {
		t.Errorf("fail_next via control API: %d", r.status)
	}
	if code := e.control(t, "POST", "/sandbox/faults", `{"reset":true,"maintenance":true}`, &fs); code != 200 || !fs.Maintenance || fs.DropAfterPost {
		t.Errorf("reset+maintenance: %d %+v", code, fs)
	}
	if r := e.get(t, "/api/v1/current/Me", at); r.status != 503 {
		t.Errorf("maintenance via control API: %d", r.status)
	}
	e.control(t, "POST", "/sandbox/faults", `{"reset":true,"revoke_refresh_tokens":true}`, nil)
	if r := e.postToken(t, e.refreshForm(r.body["refresh_token"])); r.status != 401 || r.body["error"] != "unauthorized_client" {
		t.Errorf("revoked via control API: %d %v", r.status, r.body)
	}
	if code := e.control(t, "POST", "/sandbox/faults", `{"bogus":1}`, nil); code != 400 {
		t.Errorf("unknown fault field: %d", code)
	}

	var buyers []map[string]string
	e.control(t, "GET", "/sandbox/demo-buyers", "", &buyers)
	if len(buyers) != len(e.sb.DemoBuyers()) || len(buyers) == 0 || buyers[0]["account_id"] != e.sb.DemoBuyers()[0].AccountID {
		t.Errorf("demo buyers: %v", buyers)
	}

	var clk struct {
		Now  time.Time `json:"now"`
		Fake bool      `json:"fake"`
	}
	if code := e.control(t, "POST", "/sandbox/clock", `{"advance_ms":90000}`, &clk); code != 200 || !clk.Now.Equal(t0.Add(90*time.Second)) || !clk.Fake {
		t.Errorf("clock: %d %+v", code, clk)
	}
	if !e.clock.Now().Equal(t0.Add(90 * time.Second)) {
		t.Errorf("fake clock at %v", e.clock.Now())
	}
	if code := e.control(t, "GET", "/sandbox/nothing", "", nil); code != 404 {
		t.Errorf("unknown control path: %d", code)
	}
	if n := e.sb.CallCount(func(c Call) bool { return strings.HasPrefix(c.Path, "/sandbox/") }); n != 0 {
		t.Errorf("control calls logged: %d", n)
	}
}

func TestClockControlNeedsFakeClock(t *testing.T) {
	sb := New(Options{Data: gen.Options{Items: 100, Customers: 20}})
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest("POST", "/sandbox/clock", strings.NewReader(`{"advance_ms":1}`))
	sb.ServeHTTP(rec, req)
	if rec.status != http.StatusConflict {
		t.Errorf("status %d, want 409", rec.status)
	}
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}

func TestPanicBecomesExact500(t *testing.T) {
	e := newEnv(t, nil, func(s *Sandbox) {
		s.sleep = func(context.Context, time.Duration) { panic("bug") }
	})
	at, _ := e.token(t)
	e.sb.Faults().SetLatency(time.Millisecond)
	r := e.get(t, "/api/v1/current/Me", at)
	if r.status != 500 || r.errMsg(t) == "" {
		t.Fatalf("panic answered %d %s", r.status, r.body)
	}
	if n := e.sb.CallCount(func(c Call) bool { return c.Status == 500 }); n != 1 {
		t.Errorf("logged 500s: %d", n)
	}
}
