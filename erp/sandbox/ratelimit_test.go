package sandbox

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type rateHeaders struct {
	Limit, Remaining, Reset                       string
	MinutelyLimit, MinutelyRemaining, MinuteReset string
}

func headersOf(r apiResult) rateHeaders {
	h := r.header
	return rateHeaders{
		Limit: h.Get("X-RateLimit-Limit"), Remaining: h.Get("X-RateLimit-Remaining"), Reset: h.Get("X-RateLimit-Reset"),
		MinutelyLimit: h.Get("X-RateLimit-Minutely-Limit"), MinutelyRemaining: h.Get("X-RateLimit-Minutely-Remaining"),
		MinuteReset: h.Get("X-RateLimit-Minutely-Reset"),
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestRateLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit, o.DayLimit = 3, 5 })
	at, _ := e.token(t)
	minReset := ms(time.Date(2026, 3, 10, 10, 1, 0, 0, time.UTC))
	dayReset := ms(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC))
	full := func(dayRem, minRem int, minReset string) rateHeaders {
		return rateHeaders{"5", strconv.Itoa(dayRem), dayReset, "3", strconv.Itoa(minRem), minReset}
	}
	me := "/api/v1/current/Me"
	var got []rateHeaders
	var statuses []int
	call := func(path string) apiResult {
		r := e.get(t, path, at)
		got = append(got, headersOf(r))
		statuses = append(statuses, r.status)
		return r
	}
	call(me)
	call(e.api("logistics/Items") + q("$select", "ID", "$top", "1")) // errors count too
	call(e.api("logistics/Nope"))
	r := call(me) // minute budget used up
	if len(r.body) != 0 {
		t.Errorf("429 body %q, want empty", r.body)
	}
	e.clock.Advance(30 * time.Second) // next minute: 10:01:00
	minReset2 := ms(time.Date(2026, 3, 10, 10, 2, 0, 0, time.UTC))
	call(me)
	call(me)
	call(me) // day budget used up
	e.clock.Set(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC))
	at, _ = e.token(t) // the old one expired
	call(me)
	dayReset2 := ms(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC))
	wantStatus := []int{200, 200, 404, 429, 200, 200, 429, 200}
	want := []rateHeaders{
		full(4, 2, minReset), full(3, 1, minReset), full(2, 0, minReset),
		{MinutelyLimit: "3", MinutelyRemaining: "0", MinuteReset: minReset},
		full(1, 2, minReset2), full(0, 1, minReset2),
		{MinutelyLimit: "3", MinutelyRemaining: "1", MinuteReset: minReset2},
		{"5", "4", dayReset2, "3", "2", ms(time.Date(2026, 3, 11, 0, 1, 0, 0, time.UTC))},
	}
	if diff := cmp.Diff(wantStatus, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if st := e.sb.Stats(); st.RateLimited != 2 {
		t.Errorf("RateLimited = %d, want 2", st.RateLimited)
	}
	// Token calls do not use the API budget.
	e.postToken(t, e.refreshForm(e.sb.IssueRefreshToken()))
	if h := headersOf(e.get(t, me, at)); h.Remaining != "3" || h.MinutelyRemaining != "1" {
		t.Errorf("after a token call remaining = %s/%s, want 3/1", h.Remaining, h.MinutelyRemaining)
	}
}

func TestCompressedWindows(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.MinuteLimit, o.MinuteLength, o.DayLength = 2, time.Second, 10*time.Second
		o.TokenLifetime = time.Hour
	})
	at, _ := e.token(t)
	for i, want := range []int{200, 200, 429} {
		if r := e.get(t, "/api/v1/current/Me", at); r.status != want {
			t.Fatalf("call %d: %d, want %d", i, r.status, want)
		}
	}
	e.clock.Advance(time.Second)
	r := e.get(t, "/api/v1/current/Me", at)
	if r.status != 200 || r.header.Get("X-RateLimit-Minutely-Reset") != ms(t0.Add(2*time.Second)) ||
		r.header.Get("X-RateLimit-Reset") != ms(t0.Truncate(10*time.Second).Add(10*time.Second)) {
		t.Errorf("compressed window: %d %v", r.status, headersOf(r))
	}
}

func TestErrorBlocking(t *testing.T) {
	for _, block := range []bool{false, true} {
		t.Run(strconv.FormatBool(block), func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.BlockAfterErrors, o.MinuteLimit = block, 1000 })
			at, _ := e.token(t)
			bad := e.api("logistics/Items(guid'00000000-0000-0000-0000-000000000000')")
			good := e.api("logistics/Items") + q("$select", "ID", "$top", "1")
			for i := 0; i < 9; i++ {
				if r := e.get(t, bad, at); r.status != 404 {
					t.Fatalf("error %d: %d", i, r.status)
				}
			}
			if r := e.get(t, good, at); r.status != 200 {
				t.Fatalf("after 9 errors: %d", r.status)
			}
			if r := e.get(t, e.api("logistics/Items"), at); r.status != 400 { // the tenth error
				t.Fatalf("tenth error: %d", r.status)
			}
			r := e.get(t, good, at)
			other := e.get(t, e.api("crm/Accounts")+q("$select", "ID", "$top", "1"), at)
			if other.status != 200 {
				t.Errorf("other endpoint: %d", other.status)
			}
			if !block {
				if r.status != 200 {
					t.Errorf("without blocking: %d", r.status)
				}
				return
			}
			if r.status != 403 || r.header.Get("Reason") != "TooManyErrors" || r.header.Get("X-RateLimit-Limit") == "" {
				t.Fatalf("blocked call: %d %v %s", r.status, r.header, r.body)
			}
			if msg := r.errMsg(t); msg != "Forbidden - too many errors on this endpoint; it is blocked until 2026-03-10T11:00:00Z." {
				t.Errorf("blocked message %q", msg)
			}
			e.clock.Set(time.Date(2026, 3, 10, 10, 59, 59, 0, time.UTC))
			at, _ = e.token(t)
			if r := e.get(t, good, at); r.status != 403 {
				t.Errorf("before the hour ends: %d", r.status)
			}
			e.clock.Set(time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC))
			if r := e.get(t, good, at); r.status != 200 {
				t.Errorf("after the hour: %d %s", r.status, r.body)
			}
			if st := e.sb.Stats(); st.Blocked != 2 {
				t.Errorf("Blocked = %d, want 2", st.Blocked)
			}
		})
	}
}
