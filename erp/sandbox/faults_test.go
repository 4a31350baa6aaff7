package sandbox

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type sleepRecorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleepRecorder) sleep(_ context.Context, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

func TestLatency(t *testing.T) {
	rec := &sleepRecorder{}
	e := newEnv(t, nil, func(s *Sandbox) { s.sleep = rec.sleep })
	at, _ := e.token(t)
	e.sb.Faults().SetLatency(250 * time.Millisecond)
	e.get(t, "/api/v1/current/Me", at)
	e.postToken(t, e.refreshForm(e.sb.IssueRefreshToken()))
	e.sb.Faults().SetLatency(0)
	e.get(t, "/api/v1/current/Me", at)
	if diff := cmp.Diff([]time.Duration{250 * time.Millisecond, 250 * time.Millisecond}, rec.got()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestRealSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	realSleep(ctx, time.Hour) // returns at once: the context is done
}

func TestFailNext(t *testing.T) {
	for _, tt := range []struct{ give, want int }{{500, 500}, {503, 503}, {0, 503}, {404, 503}} {
		e := newEnv(t, nil)
		at, _ := e.token(t)
		e.sb.Faults().FailNext(2, tt.give)
		var got []int
		for range 3 {
			r := e.get(t, "/api/v1/current/Me", at)
			got = append(got, r.status)
			if r.status >= 500 && r.errMsg(t) == "" {
				t.Error("5xx without Exact error message")
			}
		}
		if diff := cmp.Diff([]int{tt.want, tt.want, 200}, got); diff != "" {
			t.Errorf("FailNext(2, %d) statuses (-want +got):\n%s", tt.give, diff)
		}
		if st := e.sb.Stats(); st.Faults != 2 {
			t.Errorf("Faults = %d", st.Faults)
		}
	}
}

func TestMaintenance(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	id := e.fixture(t).item["ID"].(string)
	f := e.sb.Faults()
	f.SetMaintenance(true)
	if r := e.get(t, "/api/v1/current/Me", at); r.status != 503 || r.errMsg(t) == "" {
		t.Errorf("API in maintenance: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodPost, "/api/oauth2/token", "", "", nil); r.status != 503 {
		t.Errorf("token in maintenance: %d", r.status)
	}
	if r := e.get(t, "/docs/SysImage.aspx?Table=Items&ID="+id, at); r.status != 503 {
		t.Errorf("picture in maintenance: %d", r.status)
	}
	if !f.State().Maintenance {
		t.Error("State().Maintenance = false")
	}
	f.SetMaintenance(false)
	if r := e.get(t, "/api/v1/current/Me", at); r.status != 200 {
		t.Errorf("after maintenance: %d", r.status)
	}
}

func TestForce429(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	e.sb.Faults().Force429(2)
	for i := range 2 {
		r := e.get(t, "/api/v1/current/Me", at)
		if r.status != 429 || len(r.body) != 0 || r.header.Get("X-RateLimit-Limit") != "" || r.header.Get("X-RateLimit-Minutely-Reset") == "" {
			t.Errorf("forced 429 #%d: %d %q %v", i, r.status, r.body, r.header)
		}
	}
	r := e.get(t, "/api/v1/current/Me", at)
	if r.status != 200 || r.header.Get("X-RateLimit-Minutely-Remaining") != "59" {
		t.Errorf("after forced 429s: %d remaining %s", r.status, r.header.Get("X-RateLimit-Minutely-Remaining"))
	}
}

func TestDropAndReject(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	f := e.fixture(t)
	n0 := len(e.sb.Orders())
	post := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+e.api("salesorder/SalesOrders"), stringsReader(f.body(nil)))
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+at)
		return http.DefaultClient.Do(req)
	}
	e.sb.Faults().DropConnectionAfterNextPost()
	if resp, err := post(); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped POST answered %d", resp.StatusCode)
	}
	if got := len(e.sb.Orders()); got != n0+1 {
		t.Errorf("orders after dropped POST: %d, want %d", got, n0+1)
	}
	e.sb.Faults().RejectNextOrder("Credit limit exceeded.")
	r := e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, f.body(nil), nil)
	if r.status != 400 || r.errMsg(t) != "Credit limit exceeded." {
		t.Errorf("rejected order: %d %s", r.status, r.body)
	}
	if got := len(e.sb.Orders()); got != n0+1 {
		t.Errorf("orders after rejected POST: %d, want %d", got, n0+1)
	}
	if r := e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, f.body(nil), nil); r.status != 201 {
		t.Errorf("next POST: %d %s", r.status, r.body)
	}
	var statuses []int
	for _, c := range e.sb.Calls() {
		if c.Method == http.MethodPost && c.Kind == KindAPI {
			statuses = append(statuses, c.Status)
		}
	}
	if diff := cmp.Diff([]int{0, 400, 201}, statuses); diff != "" {
		t.Errorf("logged POST statuses (-want +got):\n%s", diff)
	}
}

func TestFaultsReset(t *testing.T) {
	f := &Faults{}
	f.SetLatency(time.Second)
	f.FailNext(3, 500)
	f.SetMaintenance(true)
	f.Force429(2)
	f.DropConnectionAfterNextPost()
	f.RejectNextOrder("no")
	want := FaultState{LatencyMS: 1000, FailNext: 3, FailStatus: 500, Maintenance: true, Force429: 2, DropAfterPost: true, RejectNextOrder: "no"}
	if diff := cmp.Diff(want, f.State()); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	f.Reset()
	if diff := cmp.Diff(FaultState{}, f.State()); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}
	f.RevokeRefreshTokens() // no sandbox attached: a no-op, not a panic
}
