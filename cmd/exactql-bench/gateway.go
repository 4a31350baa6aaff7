package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/server"
)

// jwtSecret signs the bench's buyer tokens; the gateway gets it through
// EXACTQL_JWT_SECRET. It protects nothing but a loopback benchmark.
const jwtSecret = "exactql-bench-secret-exactql-bench-secret"

// buildGateway compiles ./cmd/exactql into dir and returns the binary's path.
func buildGateway(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "exactql")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/exactql")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("buildGateway: go build ./cmd/exactql (run the bench from the repository root): %w", err)
	}
	return bin, nil
}

// proc is a server subprocess listening on loopback.
type proc struct {
	cmd     *exec.Cmd
	URL     string // base URL, e.g. http://127.0.0.1:41234
	logPath string
	done    chan error
}

// startProc starts bin with env and waits until it prints the line
// "GraphQL endpoint: <url>/graphql" on stdout.
func startProc(ctx context.Context, bin string, args []string, env []string, logPath string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("startProc: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("startProc: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("startProc: %w", err)
	}
	p := &proc{cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "GraphQL endpoint: "); ok && !sent {
				urlc <- strings.TrimSuffix(strings.TrimSpace(u), "/graphql")
				sent = true
			}
		}
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
		logf.Close()
	}()
	select {
	case p.URL = <-urlc:
		return p, nil
	case err := <-p.done:
		return nil, fmt.Errorf("startProc: %s exited before serving (%v); log: %s", filepath.Base(bin), err, tail(logPath, 2000))
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, fmt.Errorf("startProc: %s did not start within 60 s; log: %s", filepath.Base(bin), tail(logPath, 2000))
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// stop ends the subprocess with SIGINT (graceful), then SIGKILL after 10 s.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rssKB reads VmRSS of the subprocess from /proc; 0 when unavailable.
func (p *proc) rssKB() int64 { return p.statusKB("VmRSS:") }

// peakRSSKB reads VmHWM (the peak resident set so far) of the subprocess
// from /proc; 0 when unavailable.
func (p *proc) peakRSSKB() int64 { return p.statusKB("VmHWM:") }

// statusKB reads one kB figure of /proc/<pid>/status; 0 when unavailable.
func (p *proc) statusKB(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuTicks returns utime+stime of the subprocess in clock ticks (1/100 s on Linux).
func (p *proc) cpuTicks() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// freeEnv is the environment every subprocess inherits: only what Go
// programs need to run, nothing of the caller's secrets.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOMAXPROCS", "GOGC", "GOMEMLIMIT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// gateway is exactql running as a subprocess in production mode against an
// in-process sandbox whose calls the bench counts.
type gateway struct {
	SB    *sandbox.Sandbox
	sbSrv *http.Server
	*proc
	client *http.Client
}

// gatewayOptions configure one gateway run.
type gatewayOptions struct {
	Sandbox sandbox.Options
	Env     map[string]string // extra EXACTQL_* settings
	Dir     string            // work directory (data dir, log)
	Name    string
}

// startGateway starts a sandbox on 127.0.0.1:0 and the gateway binary bin
// against it.
func startGateway(ctx context.Context, bin string, o gatewayOptions) (*gateway, error) {
	sb := sandbox.New(o.Sandbox)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("startGateway: sandbox listener: %w", err)
	}
	hs := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	dir, err := os.MkdirTemp(o.Dir, o.Name+"-")
	if err != nil {
		hs.Close()
		return nil, fmt.Errorf("startGateway: %w", err)
	}
	env := append(baseEnv(),
		"EXACTQL_MODE=production",
		"EXACT_BASE_URL=http://"+ln.Addr().String(),
		"EXACT_CLIENT_ID="+sb.ClientID(),
		"EXACT_CLIENT_SECRET="+sb.ClientSecret(),
		"EXACT_DIVISION="+strconv.Itoa(sb.Division()),
		"EXACT_REFRESH_TOKEN="+sb.IssueRefreshToken(),
		"EXACTQL_JWT_SECRET="+jwtSecret,
		"EXACTQL_DATA_DIR="+filepath.Join(dir, "data"),
		"EXACTQL_ADDR=127.0.0.1:0",
		"EXACTQL_LOG_FORMAT=json",
	)
	for k, v := range o.Env {
		env = append(env, k+"="+v)
	}
	p, err := startProc(ctx, bin, []string{"serve"}, env, filepath.Join(dir, "gateway.log"))
	if err != nil {
		hs.Close()
		return nil, err
	}
	return &gateway{SB: sb, sbSrv: hs, proc: p, client: newHTTPClient(64)}, nil
}

// Close stops the gateway and its sandbox.
func (g *gateway) Close() {
	g.proc.stop()
	g.sbSrv.Close()
	g.client.CloseIdleConnections()
}

// apiCalls counts the sandbox's Exact API calls (token calls excluded).
func (g *gateway) apiCalls() int {
	return g.SB.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI })
}

// callsSplit counts API calls whose query names one of accounts (per-buyer
// lookups) and all others (shared data).
func (g *gateway) callsSplit(accounts map[string]bool) (perBuyer, shared int) {
	for _, c := range g.SB.Calls() {
		if c.Kind != sandbox.KindAPI {
			continue
		}
		q, err := url.QueryUnescape(c.Query)
		if err != nil {
			q = c.Query
		}
		q = strings.ToLower(q)
		hit := false
		for a := range accounts {
			if strings.Contains(q, strings.ToLower(a)) {
				hit = true
				break
			}
		}
		if hit {
			perBuyer++
		} else {
			shared++
		}
	}
	return perBuyer, shared
}

// token signs a buyer token the gateway accepts.
func token(account, contact string) (string, error) {
	return server.SignToken([]byte(jwtSecret), "bench-"+account, account, contact, 24*time.Hour, time.Now())
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
	}
}

// gqlResponse is a decoded GraphQL answer.
type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions map[string]any  `json:"extensions"`
	Status     int             `json:"-"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the first error's extensions.code, "" without errors.
func (r *gqlResponse) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	if c == "" {
		c = "ERROR"
	}
	return c
}

// Stale reports extensions.stale.
func (r *gqlResponse) Stale() bool {
	s, _ := r.Extensions["stale"].(bool)
	return s
}

// query posts one GraphQL request to base+"/graphql".
func query(ctx context.Context, c *http.Client, base, tok, q string, vars map[string]any) (*gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &gqlResponse{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("query: status %d, undecodable body %.200q", resp.StatusCode, raw)
	}
	return out, nil
}

// mustData runs q and decodes data into v; GraphQL errors are an error.
func (g *gateway) mustData(ctx context.Context, tok, q string, vars map[string]any, v any) error {
	r, err := query(ctx, g.client, g.URL, tok, q, vars)
	if err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("query errors: %s: %s", r.Code(), r.Errors[0].Message)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(r.Data, v)
}

// metrics fetches /metrics and returns the lines whose metric name contains
// one of the words; nil when /metrics does not exist.
func (g *gateway) metrics(ctx context.Context, words ...string) map[string]float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/metrics", nil)
	resp, err := g.client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		for _, w := range words {
			if strings.Contains(name, w) {
				if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
					out[name] = v
				}
				break
			}
		}
	}
	return out
}
