package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
)

// The replica tests (issue 14, "Done when"): real exactql processes in
// production mode on one PostgreSQL schema against one exact-sandbox
// process with 40-second access tokens and a 60-call minute. The binaries
// are built once per test run. EXACTQL_REPLICA_DURATION sets the traffic
// test's length (default 3m; 45s with -short).

var (
	binOnce           sync.Once
	binDir            string
	binErr            error
	exactqlBin, sbBin string
)

// replicaBinaries builds exactql and exact-sandbox once (without -race:
// they are the system under test, not the test).
func replicaBinaries(t *testing.T) (string, string) {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "exactql-replica-bin-")
		if binErr != nil {
			return
		}
		exactqlBin, sbBin = filepath.Join(binDir, "exactql"), filepath.Join(binDir, "exact-sandbox")
		for _, b := range [][2]string{{exactqlBin, "."}, {sbBin, "../exact-sandbox"}} {
			// The flags of .ci/run's static binary step, so CI builds
			// these from its cache.
			cmd := exec.Command("go", "build", "-trimpath", "-o", b[0], b[1])
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return exactqlBin, sbBin
}

// sandboxProc is a running exact-sandbox process.
type sandboxProc struct {
	BaseURL      string `json:"base_url"`
	Division     int    `json:"division"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
}

func startSandboxProc(t *testing.T, bin string) *sandboxProc {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-json", "-minute-limit", "60", "-day-limit", "5000",
		"-token-lifetime", "40s", "-refresh-window", "30s", "-items", "300", "-customers", "30")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testLog(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("exact-sandbox: %v", err)
	}
	go io.Copy(io.Discard, out)
	var sp sandboxProc
	if err := json.Unmarshal([]byte(line), &sp); err != nil {
		t.Fatalf("exact-sandbox startup %q: %v", line, err)
	}
	return &sp
}

func (sp *sandboxProc) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(sp.BaseURL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (sp *sandboxProc) postJSON(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post(sp.BaseURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

func (sp *sandboxProc) stats(t *testing.T) sandbox.Stats {
	var s sandbox.Stats
	sp.getJSON(t, "/sandbox/stats", &s)
	return s
}

func (sp *sandboxProc) calls(t *testing.T) []sandbox.Call {
	var c struct{ Calls []sandbox.Call }
	sp.getJSON(t, "/sandbox/calls", &c)
	return c.Calls
}

// buyerToken signs a caller token for the sandbox's price-list buyer.
func (sp *sandboxProc) buyerToken(t *testing.T, secret string) string {
	var buyers []struct {
		Rule      string `json:"rule"`
		AccountID string `json:"account_id"`
		ContactID string `json:"contact_id"`
	}
	sp.getJSON(t, "/sandbox/demo-buyers", &buyers)
	for _, b := range buyers {
		if b.Rule == gen.RulePriceList {
			tok, err := server.SignToken([]byte(secret), "buyer", b.AccountID, b.ContactID, time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	t.Fatal("the sandbox has no price-list buyer")
	return ""
}

// replica is one exactql process.
type replica struct {
	name string
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

const replicaSecret = "replica-e2e-secret-replica-e2e-secret-0123"

// replicaCluster is one sandbox process and the exactql processes sharing
// one PostgreSQL schema.
type replicaCluster struct {
	t     *testing.T
	bin   string
	sb    *sandboxProc
	env   []string
	token string
	n     int
}

func newReplicaCluster(t *testing.T) *replicaCluster {
	t.Helper()
	return newReplicaClusterVia(t, func(u string) string { return u })
}

// newReplicaClusterVia is newReplicaCluster with the database URL the
// replicas use rewritten by via (a proxy).
func newReplicaClusterVia(t *testing.T, via func(string) string) *replicaCluster {
	t.Helper()
	dbURL, _ := testPGSchema(t)
	dbURL = via(dbURL)
	bin, sbBin := replicaBinaries(t)
	sb := startSandboxProc(t, sbBin)
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"EXACTQL_MODE=production", "EXACTQL_ADDR=127.0.0.1:0", "EXACTQL_LOG_FORMAT=json", "EXACTQL_LOG_LEVEL=info",
		"EXACT_BASE_URL=" + sb.BaseURL, "EXACT_CLIENT_ID=" + sb.ClientID, "EXACT_CLIENT_SECRET=" + sb.ClientSecret,
		"EXACT_REFRESH_TOKEN=" + sb.RefreshToken, "EXACT_DIVISION=" + strconv.Itoa(sb.Division),
		"EXACTQL_JWT_SECRET=" + replicaSecret, "EXACTQL_DATABASE_URL=" + dbURL,
		"EXACTQL_ORDER_ATTEMPTS_PER_MINUTE=0", "EXACTQL_ORDER_RETRY_BASE=2s", "EXACTQL_ORDER_POLL_INTERVAL=1s",
		"EXACT_WEBHOOK_SECRET=" + sandbox.DefaultWebhookSecret,
	}
	return &replicaCluster{t: t, bin: bin, sb: sb, env: env, token: sb.buyerToken(t, replicaSecret)}
}

// start runs one more exactql process and waits until it serves.
func (c *replicaCluster) start() *replica {
	t := c.t
	t.Helper()
	c.n++
	r := &replica{name: fmt.Sprintf("r%d", c.n), done: make(chan struct{})}
	r.cmd = exec.Command(c.bin, "serve")
	r.cmd.Env = append(c.env, "EXACTQL_DATA_DIR="+t.TempDir())
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var logTail []string
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			// The role changes go to the test log (they are what the
			// operator sees); the rest is kept for failures.
			if strings.Contains(line, `"component":"mirror"`) || strings.Contains(line, `"level":"error"`) {
				t.Logf("%s: %s", r.name, line)
			}
			logMu.Lock()
			logTail = append(logTail, line)
			if len(logTail) > 40 {
				logTail = logTail[1:]
			}
			logMu.Unlock()
		}
	}()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "GraphQL endpoint: "); ok {
				urlc <- strings.TrimSuffix(u, "/graphql")
			}
		}
	}()
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	select {
	case r.url = <-urlc:
	case <-r.done:
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("%s exited before serving:\n%s", r.name, strings.Join(logTail, "\n"))
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not serve within 60 s", r.name)
	}
	return r
}

// kill9 ends the process with SIGKILL (no shutdown of any kind).
func (r *replica) kill9(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

// post sends one GraphQL request; a transport error is returned, not fatal.
func (r *replica) post(token, q string, vars map[string]any) (gqlResponse, error) {
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, r.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	var out gqlResponse
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("status %d, body %q: %w", resp.StatusCode, raw, err)
	}
	out.status = resp.StatusCode
	return out, nil
}

var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// metric sums the samples of name (all label sets) in r's /metrics; -1
// when the process does not answer.
func (r *replica) metric(name string) float64 {
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		sum += v
	}
	return sum
}

// mirrorComplete reports whether every feed finished its first pass, as r
// sees it.
func (r *replica) mirrorComplete() bool {
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != "exactql_mirror_complete" {
			continue
		}
		if m[3] != "1" {
			return false
		}
		seen++
	}
	return seen > 0
}

// leaders returns the indexes of the replicas that say they lead.
func leaders(rs []*replica) []int {
	var out []int
	for i, r := range rs {
		if r.metric("exactql_mirror_leader") == 1 {
			out = append(out, i)
		}
	}
	return out
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, timeout)
	return 0
}

// maxPerMinute is the most API calls the sandbox saw in one of its fixed
// minute windows (aligned to the minute, as its limiter counts).
func maxPerMinute(calls []sandbox.Call) (int, time.Time) {
	per := map[time.Time]int{}
	for _, c := range calls {
		if c.Kind == sandbox.KindAPI {
			per[c.Time.Truncate(time.Minute)]++
		}
	}
	best, at := 0, time.Time{}
	for w, n := range per {
		if n > best {
			best, at = n, w
		}
	}
	return best, at
}

// syncSince extracts the watermark of a sync/ call ("Timestamp gt NL"); -1
// for other calls.
func syncSince(c sandbox.Call) int64 {
	if !strings.HasPrefix(c.Endpoint, "sync/") {
		return -1
	}
	q, err := url.ParseQuery(c.Query)
	if err != nil {
		return -1
	}
	f := q.Get("$filter")
	s, ok := strings.CutPrefix(f, "Timestamp gt ")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "L"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// replicaDuration is the traffic test's length.
func replicaDuration(t *testing.T) time.Duration {
	if v := os.Getenv("EXACTQL_REPLICA_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("EXACTQL_REPLICA_DURATION=%q: %v", v, err)
		}
		return d
	}
	if testing.Short() {
		return 45 * time.Second
	}
	return 3 * time.Minute
}

// traffic spreads requests over rs until stop closes: mirrored product
// pages continuously, and every orderEvery a new order (each needs Exact:
// a POST, and the shared token and budget). alive tells which replicas a
// load balancer would still send to.
type trafficResult struct {
	reads, orders, failed atomic.Int64
	mu                    sync.Mutex
	failures              []string
	statuses              map[string]int // placeOrder answers by order status or error code
	wait                  *sync.WaitGroup
}

func (tr *trafficResult) count(status string) {
	tr.mu.Lock()
	tr.statuses[status]++
	tr.mu.Unlock()
}

func (tr *trafficResult) fail(s string) {
	tr.failed.Add(1)
	tr.mu.Lock()
	if len(tr.failures) < 10 {
		tr.failures = append(tr.failures, s)
	}
	tr.mu.Unlock()
}

func runTraffic(c *replicaCluster, rs []*replica, alive func(i int) bool, orderEvery time.Duration, product string, stop <-chan struct{}) *trafficResult {
	tr := &trafficResult{statuses: map[string]int{}}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				k := i % len(rs)
				if !alive(k) {
					continue
				}
				r, err := rs[k].post(c.token, pageQuery, map[string]any{"first": 5, "after": nil})
				if err != nil || len(r.Errors) > 0 {
					tr.fail(fmt.Sprintf("%s page: %v %+v", rs[k].name, err, r.Errors))
					continue
				}
				tr.reads.Add(1)
			}
		}()
	}
	if orderEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(orderEvery):
				}
				k := i % len(rs)
				if !alive(k) {
					continue
				}
				ref := fmt.Sprintf("PO-T%d", i)
				input := map[string]any{"idempotencyKey": "traffic-" + strconv.Itoa(i), "yourReference": ref,
					"lines": []map[string]any{{"productCode": product, "quantity": "1"}}}
				r, err := rs[k].post(c.token, placeOrder, map[string]any{"input": input})
				if err != nil || len(r.Errors) > 0 {
					tr.count(errorCode(r))
					tr.fail(fmt.Sprintf("%s placeOrder: %v %+v", rs[k].name, err, r.Errors))
					continue
				}
				var d placeData
				if json.Unmarshal(r.Data, &d) == nil && d.PlaceOrder.Order != nil {
					tr.count(d.PlaceOrder.Order.Status)
				}
				tr.orders.Add(1)
			}
		}()
	}
	tr.wait = &wg
	return tr
}

// firstProduct returns a product code from a mirrored page of r.
func (c *replicaCluster) firstProduct(r *replica) string {
	c.t.Helper()
	resp, err := r.post(c.token, pageQuery, map[string]any{"first": 1})
	if err != nil || len(resp.Errors) > 0 {
		c.t.Fatalf("first page: %v %+v", err, resp.Errors)
	}
	var d pageData
	if err := json.Unmarshal(resp.Data, &d); err != nil || len(d.Products.Nodes) == 0 {
		c.t.Fatalf("first page: %s %v", resp.Data, err)
	}
	return d.Products.Nodes[0].Code
}

// startThree starts three replicas and waits until one leads and every one
// holds a complete mirror.
func (c *replicaCluster) startThree() []*replica {
	rs := []*replica{c.start(), c.start(), c.start()}
	waitUntil(c.t, 3*time.Minute, "a complete mirror on every replica", func() bool {
		for _, r := range rs {
			if !r.mirrorComplete() {
				return false
			}
		}
		return true
	})
	if l := leaders(rs); len(l) != 1 {
		c.t.Fatalf("replicas leading the mirror: %v; want exactly one", l)
	}
	return rs
}

// checkExactFigures asserts the sandbox's counters: no old refresh token
// used, no too-early refresh, no 429, no window over the limit.
func (c *replicaCluster) checkExactFigures(t *testing.T) (sandbox.Stats, int) {
	t.Helper()
	st := c.sb.stats(t)
	peak, at := maxPerMinute(c.sb.calls(t))
	if st.OldTokenReuses != 0 || st.TooEarlyRefreshes != 0 || st.RateLimited != 0 {
		t.Errorf("sandbox: %d old-refresh-token uses, %d too-early refreshes, %d × 429; want 0, 0, 0", st.OldTokenReuses, st.TooEarlyRefreshes, st.RateLimited)
	}
	if peak > 60 {
		t.Errorf("the sandbox saw %d API calls in the minute from %s; its limit is 60", peak, at.Format(time.TimeOnly))
	}
	return st, peak
}

// TestReplicaThreeReplicasShareOneExact: three replicas, traffic spread
// over all three for EXACTQL_REPLICA_DURATION: 0 old-refresh-token uses, 0
// too-early refreshes, 0 × 429, never more calls in a minute than the
// limit, and only the leader's feeds call Exact.
func TestReplicaThreeReplicasShareOneExact(t *testing.T) {
	t.Parallel()
	c := newReplicaCluster(t)
	rs := c.startThree()
	product := c.firstProduct(rs[0])
	d := replicaDuration(t)
	stop := make(chan struct{})
	start := time.Now()
	// Orders alone ask for more than the 60-call minute: the shared
	// budget has to hold the three replicas back.
	tr := runTraffic(c, rs, func(int) bool { return true }, 800*time.Millisecond, product, stop)
	time.Sleep(d)
	close(stop)
	tr.wait.Wait()
	took := time.Since(start)
	st, peak := c.checkExactFigures(t)
	var feedCalls []float64
	var callers int
	for _, r := range rs {
		n := r.metric("exactql_mirror_sync_calls_total")
		feedCalls = append(feedCalls, n)
		if n > 0 {
			callers++
		}
	}
	if callers != 1 {
		t.Errorf("feed calls per replica %v; want one replica's (the leader's) only", feedCalls)
	}
	if tr.failed.Load() > 0 {
		t.Errorf("%d answers failed: %q", tr.failed.Load(), tr.failures)
	}
	if tr.orders.Load() == 0 || tr.reads.Load() == 0 {
		t.Errorf("traffic: %d reads, %d orders", tr.reads.Load(), tr.orders.Load())
	}
	t.Logf("FIGURES three replicas, %s of traffic: %d mirrored pages and %d orders (by status %v) over 3 replicas, %d failed; "+
		"sandbox: %d API calls, %d token refreshes, %d old-refresh-token uses, %d too-early refreshes, %d × 429, peak %d calls in a minute (limit 60); "+
		"feed calls per replica %v",
		took.Round(time.Second), tr.reads.Load(), tr.orders.Load(), tr.statuses, tr.failed.Load(),
		apiCount(st), st.TokenRefreshes, st.OldTokenReuses, st.TooEarlyRefreshes, st.RateLimited, peak, feedCalls)
}

func apiCount(st sandbox.Stats) int {
	n := 0
	for ep, m := range st.Calls {
		if ep == "oauth2/token" {
			continue
		}
		for _, k := range m {
			n += k
		}
	}
	return n
}

// TestReplicaLeaderKilled: kill -9 of the mirror leader during traffic:
// another replica leads within 30 s, no answer of the living replicas
// fails, no feed starts over (no first pass after the takeover), and the
// change it syncs after takeover reaches every replica.
func TestReplicaLeaderKilled(t *testing.T) {
	t.Parallel()
	c := newReplicaCluster(t)
	rs := c.startThree()
	product := c.firstProduct(rs[0])
	var dead atomic.Int32
	dead.Store(-1)
	stop := make(chan struct{})
	tr := runTraffic(c, rs, func(i int) bool { return int(dead.Load()) != i }, 5*time.Second, product, stop)
	time.Sleep(15 * time.Second)
	old := leaders(rs)[0]
	killedAt := time.Now()
	dead.Store(int32(old)) // the load balancer stops sending to it
	rs[old].kill9(t)
	var newLeader int
	took := waitUntil(t, 30*time.Second, "another replica leads", func() bool {
		l := leaders(rs)
		if len(l) == 1 && l[0] != old {
			newLeader = l[0]
			return true
		}
		return false
	})
	time.Sleep(30 * time.Second) // traffic goes on under the new leader
	close(stop)
	tr.wait.Wait()
	if l := leaders(rs); len(l) != 1 || l[0] != newLeader {
		t.Errorf("leaders after the takeover: %v; want only %d", l, newLeader)
	}
	// Nothing synced twice: every sync read after the kill resumes from
	// the watermark the old leader reached (a feed read again from the
	// start would go back below it).
	var after, fromStart int
	reached := map[string]int64{}
	for _, call := range c.sb.calls(t) {
		s := syncSince(call)
		if s < 0 {
			continue
		}
		if call.Time.Before(killedAt) {
			reached[call.Endpoint] = max(reached[call.Endpoint], s)
			continue
		}
		after++
		if s < reached[call.Endpoint] {
			fromStart++
			t.Logf("%s read from %d after the takeover; the old leader had read from %d", call.Endpoint, s, reached[call.Endpoint])
		}
	}
	if fromStart > 0 {
		t.Errorf("%d of %d sync reads after the takeover went back behind the old leader's watermark; want every feed resumed", fromStart, after)
	}
	if tr.failed.Load() > 0 {
		t.Errorf("%d answers failed around the kill: %q", tr.failed.Load(), tr.failures)
	}
	st, peak := c.checkExactFigures(t)
	t.Logf("FIGURES kill -9 of the leader (r%d): r%d led after %s; %d mirrored pages and %d orders, %d failed; %d sync reads in the 30 s after, %d behind the old leader's watermark; "+
		"sandbox: %d old-refresh-token uses, %d too-early, %d × 429, peak %d calls in a minute",
		old+1, newLeader+1, took.Round(100*time.Millisecond), tr.reads.Load(), tr.orders.Load(), tr.failed.Load(), after, fromStart,
		st.OldTokenReuses, st.TooEarlyRefreshes, st.RateLimited, peak)

	// A replica started now loads the mirror from PostgreSQL and answers
	// its first mirrored page without calling Exact.
	late := c.start()
	waitUntil(t, 30*time.Second, "the late replica's mirror is complete", late.mirrorComplete)
	resp, err := late.post(c.token, pageQuery, map[string]any{"first": 5})
	if err != nil || len(resp.Errors) > 0 {
		t.Fatalf("late replica's first page: %v %+v", err, resp.Errors)
	}
	var d pageData
	_ = json.Unmarshal(resp.Data, &d)
	calls, refreshes := late.metric("exactql_exact_calls_total"), late.metric("exactql_exact_token_refreshes_total")
	if len(d.Products.Nodes) != 5 || calls != 0 || refreshes != 0 {
		t.Errorf("late replica's first page: %d products, %v Exact calls, %v token calls; want 5, 0, 0", len(d.Products.Nodes), calls, refreshes)
	}
	t.Logf("FIGURES late replica: first mirrored page (%d products) with %v Exact calls and %v token calls", len(d.Products.Nodes), calls, refreshes)
}

// TestReplicaOrdersOneKeyAndKilledPending: 20 concurrent placeOrder with one
// key spread over three replicas make one order in Exact; a PENDING order
// journaled by a replica that is then killed is written exactly once by
// another.
func TestReplicaOrdersOneKeyAndKilledPending(t *testing.T) {
	t.Parallel()
	c := newReplicaCluster(t)
	rs := c.startThree()
	product := c.firstProduct(rs[0])
	posts := func() (created int) {
		// The sandbox's call log has no body: count created orders by the
		// POSTs answered 201 while only this test's orders are placed.
		for _, call := range c.sb.calls(t) {
			if call.Method == "POST" && call.Endpoint == "salesorder/SalesOrders" && call.Status == http.StatusCreated {
				created++
			}
		}
		return created
	}
	input := map[string]any{"idempotencyKey": "one-key", "yourReference": "PO-ONE",
		"lines": []map[string]any{{"productCode": product, "quantity": "1"}}}
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := rs[i%3].post(c.token, placeOrder, map[string]any{"input": input})
			if err != nil || len(r.Errors) > 0 {
				t.Errorf("placeOrder %d on %s: %v %+v", i, rs[i%3].name, err, r.Errors)
				return
			}
			var d placeData
			if err := json.Unmarshal(r.Data, &d); err != nil || d.PlaceOrder.Order == nil {
				t.Errorf("placeOrder %d: %s", i, r.Data)
				return
			}
			ids[i] = d.PlaceOrder.Order.ID
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Errorf("placeOrder %d got %q; want %q", i, id, ids[0])
		}
	}
	one := posts()
	if one != 1 {
		t.Errorf("20 concurrent placeOrder with one key over 3 replicas made %d orders in Exact; want 1", one)
	}

	// Exact is in maintenance: r1 journals the order as PENDING, then dies.
	c.sb.postJSON(t, "/sandbox/faults", `{"maintenance": true}`)
	pend := map[string]any{"idempotencyKey": "pending-key", "yourReference": "PO-PEND",
		"lines": []map[string]any{{"productCode": product, "quantity": "2"}}}
	r, err := rs[0].post(c.token, placeOrder, map[string]any{"input": pend})
	if err != nil || len(r.Errors) > 0 {
		t.Fatalf("placeOrder under maintenance: %v %+v", err, r.Errors)
	}
	var d placeData
	if err := json.Unmarshal(r.Data, &d); err != nil || d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "PENDING" {
		t.Fatalf("placeOrder under maintenance: %s; want a PENDING order", r.Data)
	}
	rs[0].kill9(t)
	c.sb.postJSON(t, "/sandbox/faults", `{"maintenance": false}`)
	start := time.Now()
	took := waitUntil(t, 3*time.Minute, "the pending order reads OPEN on another replica", func() bool {
		r, err := rs[1+int(time.Since(start)/time.Second)%2].post(c.token, placeOrder, map[string]any{"input": pend})
		if err != nil || len(r.Errors) > 0 {
			return false
		}
		var d placeData
		return json.Unmarshal(r.Data, &d) == nil && d.PlaceOrder.Order != nil && d.PlaceOrder.Order.Status == "OPEN"
	})
	time.Sleep(5 * time.Second) // a second write would come now
	total := posts()
	if total != 2 {
		t.Errorf("%d orders created in Exact; want 2 (the one-key order and the pending one, once)", total)
	}
	t.Logf("FIGURES orders: 20 concurrent placeOrder with one key over 3 replicas → %d order(s) in Exact; "+
		"PENDING order of a replica killed with -9 → written by another after %s, %d order(s) in Exact for it",
		one, took.Round(100*time.Millisecond), total-one)
}

// pgProxy forwards loopback connections to PostgreSQL; while cut it drops
// every connection (the database is unreachable for the replicas).
type pgProxy struct {
	target string
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{target: target, ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (r *replica) readyz() int {
	resp, err := http.Get(r.url + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReplicaDatabaseUnreachable: when PostgreSQL cannot be reached,
// readiness fails, mirrored reads go on from memory, placeOrder refuses with
// UPSTREAM_UNAVAILABLE without calling Exact, and the leader stops its
// feeds; when the database is back everything recovers by itself.
func TestReplicaDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	var px *pgProxy
	c := newReplicaClusterVia(t, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		px = startPGProxy(t, u.Host)
		u.Host = px.ln.Addr().String()
		q := u.Query()
		q.Set("connect_timeout", "2")
		u.RawQuery = q.Encode()
		return u.String()
	})
	rs := []*replica{c.start(), c.start()}
	waitUntil(t, 3*time.Minute, "a complete mirror on both replicas", func() bool { return rs[0].mirrorComplete() && rs[1].mirrorComplete() })
	product := c.firstProduct(rs[1])
	px.cut()
	waitUntil(t, 20*time.Second, "readiness fails on both", func() bool {
		return rs[0].readyz() == http.StatusServiceUnavailable && rs[1].readyz() == http.StatusServiceUnavailable
	})
	waitUntil(t, 20*time.Second, "no replica leads", func() bool { return len(leaders(rs)) == 0 })
	before := len(c.sb.calls(t))
	for _, r := range rs {
		resp, err := r.post(c.token, pageQuery, map[string]any{"first": 5})
		if err != nil || len(resp.Errors) > 0 {
			t.Errorf("%s: mirrored page without the database: %v %+v", r.name, err, resp.Errors)
		}
		input := map[string]any{"idempotencyKey": "no-db-" + r.name, "yourReference": "PO-NODB",
			"lines": []map[string]any{{"productCode": product, "quantity": "1"}}}
		resp, err = r.post(c.token, placeOrder, map[string]any{"input": input})
		if err != nil || errorCode(resp) != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("%s: placeOrder without the database: %v %s %+v; want UPSTREAM_UNAVAILABLE", r.name, err, resp.Data, resp.Errors)
		}
	}
	for _, call := range c.sb.calls(t)[before:] {
		if call.Method == "POST" {
			t.Errorf("Exact received %s %s while the database was unreachable", call.Method, call.Endpoint)
		}
	}
	px.restore()
	took := waitUntil(t, 60*time.Second, "ready again with one leader", func() bool {
		return rs[0].readyz() == http.StatusOK && rs[1].readyz() == http.StatusOK && len(leaders(rs)) == 1
	})
	t.Logf("FIGURES database unreachable: readiness 503, mirrored pages answered, placeOrder UPSTREAM_UNAVAILABLE with 0 Exact calls; ready with one leader %s after the database came back", took.Round(100*time.Millisecond))
}

// TestReplicaWebhookOnFollowerWakesLeader: Exact's webhook reaches a
// replica that does not run the feeds; the leader's feed is woken through
// PostgreSQL and the new item shows on every replica within seconds (the
// items feed's scheduled interval is many minutes here).
func TestReplicaWebhookOnFollowerWakesLeader(t *testing.T) {
	t.Parallel()
	c := newReplicaCluster(t)
	rs := c.startThree()
	leader := leaders(rs)[0]
	follower := rs[(leader+1)%3]
	var added struct{ ID string }
	resp, err := http.Post(c.sb.BaseURL+"/sandbox/items", "application/json",
		strings.NewReader(`{"code":"HOOK-1","description":"Webhook item","price":"12.50"}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&added)
	resp.Body.Close()
	if added.ID == "" {
		t.Fatalf("adding an item to the sandbox: %s", resp.Status)
	}
	content, _ := json.Marshal(map[string]any{"Topic": "Items", "ClientId": c.sb.ClientID, "Division": c.sb.Division,
		"Action": "Create", "Key": added.ID, "EventCreatedOn": time.Now().UTC().Format("2006-01-02T15:04:05.000")})
	body := `{"Content":` + string(content) + `,"HashCode":"` + sandbox.Sign(sandbox.DefaultWebhookSecret, content) + `"}`
	sent := time.Now()
	resp, err = http.Post(follower.url+webhookPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook on the follower: %s", resp.Status)
	}
	lag := make([]time.Duration, len(rs))
	for i, r := range rs {
		waitUntil(t, 30*time.Second, r.name+" shows the new item", func() bool {
			resp, err := r.post(c.token, pageQuery, map[string]any{"first": 1, "search": "HOOK-1"})
			if err != nil || len(resp.Errors) > 0 {
				return false
			}
			var d pageData
			return json.Unmarshal(resp.Data, &d) == nil && len(d.Products.Nodes) == 1 && d.Products.Nodes[0].Code == "HOOK-1"
		})
		lag[i] = time.Since(sent).Round(100 * time.Millisecond)
	}
	t.Logf("FIGURES webhook on a follower (%s; leader %s): the new item shows on the replicas after %v (the feeds debounce wakes by 2 s)",
		follower.name, rs[leader].name, lag)
}
